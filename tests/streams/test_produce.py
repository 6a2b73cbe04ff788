"""Producing inputs to Kafka: keys hash like aiokafka's murmur2, nothing is lost silently,
`tierflow produce` sends a file's lines by type and reports the lines it cannot read."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agents.rules.events import MemberEvent, Receipt
from schemas.codec import Codec
from streams.broker.producer import PRODUCER_CONFIG, LoyaltyProducer, ProduceError, RateLimit
from streams.settings import Settings
from streams.simulator.malformed import MalformedMessage
from streams.simulator.stream import SimulationParams, simulate

POLL_TIMEOUT_S = 60.0
TINY = SimulationParams(seed=11, members=120, receipts=800, start=date(2025, 3, 1), days=40)


def test_producer_partitions_keys_like_the_java_client_and_aiokafka() -> None:
    assert PRODUCER_CONFIG["partitioner"] == "murmur2_random"
    assert PRODUCER_CONFIG["enable.idempotence"] is True
    assert PRODUCER_CONFIG["compression.type"] in ("lz4", "zstd")


def test_a_failed_delivery_is_raised_at_flush_not_dropped() -> None:
    # Nothing listens on port 9: every message times out and must come back as an error.
    settings = Settings(bootstrap_servers="127.0.0.1:9", topic_prefix="nowhere.")
    producer = LoyaltyProducer(settings, config={"message.timeout.ms": 1_000, "log_level": 0})
    receipt = next(m for m in simulate(TINY) if isinstance(m, Receipt))
    producer.send_receipt(receipt)
    producer.send_raw(producer.receipts_topic, "M000001", b"raw")
    with pytest.raises(ProduceError) as raised:
        producer.flush(timeout=30.0)
    assert raised.value.code == "delivery_failed"
    assert producer.failed["nowhere.pos.receipts"] == 2
    assert raised.value.errors


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


def test_a_producer_no_longer_used_lets_its_client_go_at_once() -> None:
    """No reference cycle keeps a producer's librdkafka client alive (seen: a client
    logging failed connects at the end of the demo, after the broker had stopped)."""
    import gc
    import weakref

    settings = Settings(bootstrap_servers="127.0.0.1:9", topic_prefix="nowhere.")
    collecting = gc.isenabled()
    gc.disable()  # only reference counts: what a long demo run relies on
    try:
        dropped = LoyaltyProducer(settings, config={"log_level": 0})
        dropped_ref = weakref.ref(dropped)
        del dropped
        assert dropped_ref() is None

        closed = LoyaltyProducer(settings, config={"log_level": 0})
        holder = [closed]  # still referenced: `close` lets the client go all the same
        closed.close()
        assert closed._producer is None and holder
    finally:
        if collecting:
            gc.enable()


def test_rate_limit_lets_through_at_most_rate_messages_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    monkeypatch.setattr("streams.broker.producer.time", clock)
    limit = RateLimit(rate=200, burst=20)
    for _ in range(1_000):
        limit.wait()
    # 1,000 messages at 200/s with a burst of 20 take (1000 - 20) / 200 = 4.9 s.
    assert clock.now - 100.0 == pytest.approx(4.9, abs=0.05)


def _consume_all(settings: Settings, expected: int) -> list[Any]:
    """Every message of both input topics, polled until `expected` arrived or a deadline."""
    from confluent_kafka import Consumer

    consumer = Consumer(
        settings.kafka_client_config()
        | {
            "group.id": f"test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([settings.topic("receipts"), settings.topic("member_events")])
    seen: list[Any] = []
    deadline = time.monotonic() + POLL_TIMEOUT_S
    try:
        while len(seen) < expected and time.monotonic() < deadline:
            for message in consumer.consume(1_000, timeout=0.5):
                if message.error() is None:
                    seen.append(message)
    finally:
        consumer.close()
    if len(seen) < expected:
        pytest.fail(f"{len(seen)} of {expected} messages arrived within {POLL_TIMEOUT_S} s")
    return seen


def _murmur2_partition(key: bytes, partitions: int) -> int:
    from aiokafka.partitioner import murmur2

    return (murmur2(key) & 0x7FFFFFFF) % partitions


@pytest.mark.integration
def test_simulated_stream_lands_where_aiokafka_would_put_each_member(
    tierflow_settings: Any,
) -> None:
    settings = tierflow_settings(partitions=8)
    producer = LoyaltyProducer(settings)
    sent: dict[str, list[Receipt | MemberEvent]] = defaultdict(list)
    for message in simulate(TINY):
        assert not isinstance(message, MalformedMessage)
        producer.send(message)
        sent[message.member_id].append(message)
    report = producer.flush(timeout=60.0)
    receipts = sum(isinstance(m, Receipt) for ms in sent.values() for m in ms)
    events = sum(isinstance(m, MemberEvent) for ms in sent.values() for m in ms)
    assert report.delivered == {
        settings.topic("receipts"): receipts,
        settings.topic("member_events"): events,
    }

    arrived = _consume_all(settings, receipts + events)
    codec = Codec()
    by_topic: dict[str, int] = defaultdict(int)
    received: dict[str, list[tuple[int, Receipt | MemberEvent]]] = defaultdict(list)
    for message in arrived:
        by_topic[message.topic()] += 1
        assert message.partition() == _murmur2_partition(message.key(), 8)
        value = (
            codec.decode_receipt(message.value())
            if message.topic() == settings.topic("receipts")
            else codec.decode_member_event(message.value())
        )
        received[message.key().decode()].append((message.offset(), value))
    assert by_topic == {
        settings.topic("receipts"): receipts,
        settings.topic("member_events"): events,
    }
    for member, messages in sent.items():  # per member and topic, the log keeps send order
        for kind in (Receipt, MemberEvent):
            got = [
                v for _, v in sorted(received[member], key=lambda p: p[0]) if isinstance(v, kind)
            ]
            assert got == [m for m in messages if isinstance(m, kind)]


@pytest.mark.integration
def test_produce_command_sends_each_line_to_its_topic_and_reports_invalid_lines(
    tierflow_settings: Any, tmp_path: Path
) -> None:
    from streams.cli import app

    settings = tierflow_settings(partitions=8)
    file = tmp_path / "stream.jsonl"
    flags = ["--bootstrap-servers", settings.bootstrap, "--topic-prefix", settings.topic_prefix]
    size = ["--members", "80", "--receipts", "400", "--days", "20", "--start", "2025-05-01"]
    simulated = CliRunner().invoke(
        app, ["simulate", "--out", str(file), *size, "--malformed-share", "0.05", "--seed", "5"]
    )
    assert simulated.exit_code == 0, simulated.output
    lines = file.read_text("utf-8").splitlines()
    from schemas.jsonl import read_jsonl

    parsed = [item for _, item in read_jsonl(file)]
    receipts = sum(isinstance(item, Receipt) for item in parsed)
    events = sum(isinstance(item, MemberEvent) for item in parsed)
    invalid = len(lines) - receipts - events
    assert invalid > 0

    result = CliRunner().invoke(app, ["produce", str(file), "--dead-letter-invalid", *flags])
    assert result.exit_code == 0, result.output
    assert f"{receipts:,} receipts, {events:,} member events; {invalid:,} invalid" in result.output
    assert any(f"[{code}]" in result.output for code in ("bad_json", "invalid_receipt"))

    arrived = _consume_all(settings, receipts + events + invalid)
    on_receipts = sum(m.topic() == settings.topic("receipts") for m in arrived)
    assert on_receipts == receipts + invalid  # invalid lines go raw to be dead-lettered
    assert len(arrived) == receipts + events + invalid
