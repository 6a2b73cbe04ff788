"""Both Kafka clients tierflow uses (librdkafka via confluent-kafka, aiokafka under Faust)
talk to the broker: plain produce/consume, and transactions that a read_committed consumer
sees only after commit and never when aborted."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

pytestmark = pytest.mark.integration

POLL_TIMEOUT_S = 30.0


def _consume_until(
    settings: Any, topic: str, last: bytes, isolation: str = "read_committed"
) -> list[tuple[bytes, int]]:
    """Values (and timestamps) of partition 0 from the start up to and including `last`."""
    from confluent_kafka import Consumer

    consumer = Consumer(
        settings.kafka_client_config()
        | {
            "group.id": f"test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": isolation,
        }
    )
    consumer.subscribe([topic])
    seen: list[tuple[bytes, int]] = []
    deadline = time.monotonic() + POLL_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None or message.error():
                continue
            seen.append((message.value(), message.timestamp()[1]))
            if message.value() == last:
                return seen
    finally:
        consumer.close()
    pytest.fail(f"{last!r} did not arrive on {topic} within {POLL_TIMEOUT_S} s; saw {seen}")


def _committed_end(settings: Any, topic: str) -> int:
    """The end of partition 0 as a read_committed consumer sees it (the last stable offset)."""
    from confluent_kafka import IsolationLevel, TopicPartition
    from confluent_kafka.admin import AdminClient, OffsetSpec

    partition = TopicPartition(topic, 0)
    admin = AdminClient(settings.kafka_client_config())  # held: its futures need it alive
    futures = admin.list_offsets(
        {partition: OffsetSpec.latest()}, isolation_level=IsolationLevel.READ_COMMITTED
    )
    return int(futures[partition].result(timeout=POLL_TIMEOUT_S).offset)


def _committed_end_reaches(settings: Any, topic: str, offset: int) -> int:
    """Poll the stable end until it reaches `offset`: the coordinator writes the commit
    markers after the commit call returns."""
    deadline = time.monotonic() + POLL_TIMEOUT_S
    while (end := _committed_end(settings, topic)) < offset and time.monotonic() < deadline:
        time.sleep(0.05)
    return end


def _produce_plain(settings: Any, topic: str, value: bytes, timestamp_ms: int = 0) -> None:
    from confluent_kafka import Producer

    producer = Producer(settings.kafka_client_config())
    producer.produce(topic, value, key=b"member-1", partition=0, timestamp=timestamp_ms)
    assert producer.flush(POLL_TIMEOUT_S) == 0, "the plain message was not delivered"


def test_a_message_round_trips_through_confluent_kafka(tierflow_settings: Any) -> None:
    settings = tierflow_settings()
    topic = settings.topic("receipts")
    _produce_plain(settings, topic, b"receipt-1")
    assert [value for value, _ in _consume_until(settings, topic, b"receipt-1")] == [b"receipt-1"]


def test_a_message_round_trips_through_aiokafka(tierflow_settings: Any) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    settings = tierflow_settings()
    topic = settings.topic("member_events")

    async def round_trip() -> list[bytes]:
        producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"enrolled", key=b"member-1", partition=0)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=settings.bootstrap,
            group_id=f"test-{uuid.uuid4().hex}",
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            message = await asyncio.wait_for(consumer.getone(), POLL_TIMEOUT_S)
        finally:
            await consumer.stop()
        return [message.value]

    assert asyncio.run(round_trip()) == [b"enrolled"]


def test_read_committed_sees_a_confluent_transaction_only_after_commit(
    tierflow_settings: Any,
) -> None:
    from confluent_kafka import Producer

    settings = tierflow_settings()
    topic = settings.topic("ledger")
    producer = Producer(
        settings.kafka_client_config() | {"transactional.id": f"test-{uuid.uuid4().hex}"}
    )
    producer.init_transactions(POLL_TIMEOUT_S)
    producer.begin_transaction()
    producer.produce(topic, b"earned-10", key=b"member-1", partition=0)
    assert producer.flush(POLL_TIMEOUT_S) == 0
    # The record is in the log, but the open transaction holds the stable end at 0.
    assert _committed_end(settings, topic) == 0
    producer.commit_transaction(POLL_TIMEOUT_S)
    assert _committed_end_reaches(settings, topic, 2) == 2  # the record and the commit marker
    _produce_plain(settings, topic, b"sentinel")
    seen = [value for value, _ in _consume_until(settings, topic, b"sentinel")]
    assert seen == [b"earned-10", b"sentinel"]


def test_read_committed_never_sees_an_aborted_confluent_transaction(
    tierflow_settings: Any,
) -> None:
    from confluent_kafka import Producer

    settings = tierflow_settings()
    topic = settings.topic("ledger")
    producer = Producer(
        settings.kafka_client_config() | {"transactional.id": f"test-{uuid.uuid4().hex}"}
    )
    producer.init_transactions(POLL_TIMEOUT_S)
    producer.begin_transaction()
    producer.produce(topic, b"never-earned", key=b"member-1", partition=0)
    assert producer.flush(POLL_TIMEOUT_S) == 0
    producer.abort_transaction(POLL_TIMEOUT_S)
    _produce_plain(settings, topic, b"sentinel")
    committed = [value for value, _ in _consume_until(settings, topic, b"sentinel")]
    uncommitted = [
        value for value, _ in _consume_until(settings, topic, b"sentinel", "read_uncommitted")
    ]
    assert committed == [b"sentinel"]
    assert uncommitted == [b"never-earned", b"sentinel"]  # it was written, then aborted


def test_read_committed_sees_an_aiokafka_transaction_only_after_commit_and_never_an_abort(
    tierflow_settings: Any,
) -> None:
    from aiokafka import AIOKafkaProducer

    settings = tierflow_settings()
    topic = settings.topic("tier_changes")
    stable_ends: list[int] = []

    async def transactions() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap, transactional_id=f"test-{uuid.uuid4().hex}"
        )
        await producer.start()
        try:
            await producer.begin_transaction()
            await producer.send_and_wait(topic, b"gold", key=b"member-1", partition=0)
            stable_ends.append(_committed_end(settings, topic))
            await producer.commit_transaction()
            stable_ends.append(_committed_end_reaches(settings, topic, 2))
            await producer.begin_transaction()
            await producer.send_and_wait(topic, b"aborted", key=b"member-1", partition=0)
            await producer.abort_transaction()
        finally:
            await producer.stop()

    asyncio.run(transactions())
    _produce_plain(settings, topic, b"sentinel")
    assert stable_ends == [0, 2]
    seen = [value for value, _ in _consume_until(settings, topic, b"sentinel")]
    assert seen == [b"gold", b"sentinel"]


def test_read_committed_aiokafka_consumer_skips_an_aborted_confluent_transaction(
    tierflow_settings: Any,
) -> None:
    from aiokafka import AIOKafkaConsumer
    from confluent_kafka import Producer

    settings = tierflow_settings()
    topic = settings.topic("notifications")
    producer = Producer(
        settings.kafka_client_config() | {"transactional.id": f"test-{uuid.uuid4().hex}"}
    )
    producer.init_transactions(POLL_TIMEOUT_S)
    for value, commit in ((b"aborted", False), (b"committed", True)):
        producer.begin_transaction()
        producer.produce(topic, value, key=b"member-1", partition=0)
        if commit:
            producer.commit_transaction(POLL_TIMEOUT_S)
        else:
            producer.abort_transaction(POLL_TIMEOUT_S)

    async def read_committed() -> bytes:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=settings.bootstrap,
            group_id=f"test-{uuid.uuid4().hex}",
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        await consumer.start()
        try:
            message = await asyncio.wait_for(consumer.getone(), POLL_TIMEOUT_S)
        finally:
            await consumer.stop()
        return bytes(message.value)

    assert asyncio.run(read_committed()) == b"committed"


def test_the_broker_keeps_records_stamped_a_year_in_the_past(tierflow_settings: Any) -> None:
    settings = tierflow_settings()
    topic = settings.topic("receipts")
    year_ago = int((datetime.now(UTC) - timedelta(days=400)).timestamp() * 1000)
    _produce_plain(settings, topic, b"old-receipt", timestamp_ms=year_ago)
    assert _consume_until(settings, topic, b"old-receipt") == [(b"old-receipt", year_ago)]
