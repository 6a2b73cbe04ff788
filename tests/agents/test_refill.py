"""Offsets Faust skipped are read straight from the broker (agents/refill.py): exactly the
run asked for, in offset order, without the records of aborted transactions."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from agents.refill import Refilled, RunReader, as_events, read_missing


def test_read_records_become_events_of_the_assignment_that_skipped_them() -> None:
    events = as_events("t.pos.receipts", 4, [(17, 1_700_000_000_250, b"M1", b"v", None)], 9)
    assert len(events) == 1 and isinstance(events[0], Refilled)
    message = events[0].message
    assert (message.topic, message.partition, message.offset) == ("t.pos.receipts", 4, 17)
    assert (message.key, message.value, message.generation_id) == (b"M1", b"v", 9)
    assert message.timestamp == pytest.approx(1_700_000_000.25)  # seconds, as Faust's
    assert message.tp.partition == 4 and message.acked is False


class BrokerRun:
    """A `RunReader` stand-in: the partition's records by offset; records the reads."""

    def __init__(self, records: dict[int, bytes]) -> None:
        self.records = records
        self.reads: list[tuple[str, int, int, int]] = []

    def read(self, topic: str, partition: int, start: int, end: int) -> list[Any]:
        self.reads.append((topic, partition, start, end))
        return [
            (offset, 1_000 * offset, b"M1", self.records[offset], None)
            for offset in range(start, end)
            if offset in self.records
        ]


def _jumped(offset: int) -> Any:
    return SimpleNamespace(topic="t.pos.receipts", partition=6, offset=offset, generation_id=3)


def test_a_skipped_run_is_read_and_the_offsets_without_a_record_are_named() -> None:
    # 40..49 never came; on the broker, 44 and 45 are an aborted record and its marker.
    broker = BrokerRun({o: f"r{o}".encode() for o in range(40, 50) if o not in (44, 45)})
    found, absent = asyncio.run(read_missing(broker, _jumped(50), range(40, 50)))
    assert broker.reads == [("t.pos.receipts", 6, 40, 50)]
    assert [(e.message.offset, e.message.value) for e in found] == [
        (o, f"r{o}".encode()) for o in (40, 41, 42, 43, 46, 47, 48, 49)
    ]
    assert {e.message.generation_id for e in found} == {3}
    assert absent == [44, 45]


def test_a_jump_of_one_or_two_offsets_is_taken_as_markers_without_a_read() -> None:
    broker = BrokerRun({})
    assert asyncio.run(read_missing(broker, _jumped(12), range(10, 12))) == ([], [10, 11])
    assert broker.reads == []


class SilentConsumer:
    """A consumer whose broker never answers."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.assigned: list[Any] = []

    def assign(self, partitions: list[Any]) -> None:
        self.assigned = partitions

    def consume(self, num_messages: int, timeout: float) -> list[Any]:
        return []

    def position(self, partitions: list[Any]) -> list[Any]:
        return [type("TP", (), {"offset": -1001})()]

    def unassign(self) -> None:
        self.assigned = []


def test_a_run_the_broker_does_not_deliver_in_time_is_an_error_naming_it() -> None:
    made: list[SilentConsumer] = []

    def factory(config: dict[str, Any]) -> SilentConsumer:
        made.append(SilentConsumer(config))
        return made[-1]

    reader = RunReader({"group.id": "g"}, timeout=1.0, consumer_factory=factory)
    with pytest.raises(TimeoutError, match=r"t\.pos\.receipts\[2\] offsets 5\.\.9"):
        reader.read("t.pos.receipts", 2, 5, 10)
    consumer = made[0]
    assert consumer.config["isolation.level"] == "read_committed"
    assert consumer.config["enable.auto.commit"] is False
    assert consumer.assigned == []  # unassigned after the attempt
    assert reader.runs == 0


@pytest.mark.integration
def test_reads_exactly_the_run_asked_for_and_never_an_aborted_record(
    tierflow_settings: Any,
) -> None:
    from confluent_kafka import Consumer, Producer, TopicPartition

    settings = tierflow_settings(partitions=1)
    topic = settings.topic("receipts")
    plain = Producer(settings.kafka_client_config())
    for number in range(6):  # offsets 0..5
        plain.produce(topic, f"plain-{number}".encode(), b"M1", partition=0)
    plain.flush(30)
    pos = Producer(settings.kafka_client_config() | {"transactional.id": f"{topic}-pos"})
    pos.init_transactions(30)
    pos.begin_transaction()
    for number in range(3):  # offsets 6..8, then an abort marker at 9
        pos.produce(topic, f"aborted-{number}".encode(), b"M1", partition=0)
    pos.flush(30)
    pos.abort_transaction(30)
    pos.begin_transaction()
    for number in range(2):  # offsets 10..11, then a commit marker at 12
        pos.produce(topic, f"committed-{number}".encode(), b"M1", partition=0)
    pos.commit_transaction(30)
    plain.produce(topic, b"last", b"M1", partition=0)  # 13, or 12 before the commit marker
    plain.flush(30)

    reader = RunReader(settings.kafka_client_config() | {"group.id": f"{topic}-refill"})
    try:
        group = f"{topic}-workers"
        assert reader.start_of(topic, 0, group) == 0  # no committed offset: the oldest
        everything = reader.read(topic, 0, 0, 14)  # up to the end, if `last` is at 12
        offsets = {value: offset for offset, _stamp, _key, value, _headers in everything}
        assert not any(value.startswith(b"aborted") for value in offsets)
        assert [offsets[b"committed-0"], offsets[b"committed-1"]] == [10, 11]

        run = reader.read(topic, 0, 3, offsets[b"last"])
        assert [(offset, value) for offset, _stamp, _key, value, _headers in run] == [
            (3, b"plain-3"),
            (4, b"plain-4"),
            (5, b"plain-5"),
            (10, b"committed-0"),
            (11, b"committed-1"),
        ]
        assert all(stamp > 0 and key == b"M1" for _o, stamp, key, _v, _h in run)
        # Only aborted records and a marker between two offsets: nothing.
        assert reader.read(topic, 0, 6, 10) == []
        assert (reader.runs, reader.records) == (3, 9 + 5)

        committer = Consumer(settings.kafka_client_config() | {"group.id": group})
        committer.commit(offsets=[TopicPartition(topic, 0, 4)], asynchronous=False)
        committer.close()
        assert reader.start_of(topic, 0, group) == 4  # the group's committed offset
    finally:
        reader.close()
