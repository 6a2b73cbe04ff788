"""Offsets Faust skipped are read straight from the broker (agents/refill.py): exactly the
run asked for, in offset order, without the records of aborted transactions."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from agents.refill import Refilled, Run, RunReader, as_events, read_runs


def test_read_records_become_events_of_the_assignment_that_skipped_them() -> None:
    events = as_events("t.pos.receipts", 4, [(17, 1_700_000_000_250, b"M1", b"v", None)], 9)
    assert len(events) == 1 and isinstance(events[0], Refilled)
    message = events[0].message
    assert (message.topic, message.partition, message.offset) == ("t.pos.receipts", 4, 17)
    assert (message.key, message.value, message.generation_id) == (b"M1", b"v", 9)
    assert message.timestamp == pytest.approx(1_700_000_000.25)  # seconds, as Faust's
    assert message.tp.partition == 4 and message.acked is False


class BrokerRuns:
    """A `RunReader` stand-in: each partition's records by offset; records the reads."""

    def __init__(self, records: dict[int, dict[int, bytes]]) -> None:
        self.records = records  # partition -> offset -> value
        self.reads: list[list[tuple[str, int, int, int]]] = []

    def read_many(self, runs: list[tuple[str, int, int, int]]) -> list[list[Any]]:
        self.reads.append(runs)
        return [
            [
                (offset, 1_000 * offset, b"M1", self.records[partition][offset], None)
                for offset in range(start, end)
                if offset in self.records[partition]
            ]
            for _topic, partition, start, end in runs
        ]


def _run(partition: int, missing: range) -> Run:
    return Run("t.pos.receipts", partition, 3, missing)


def test_a_skipped_run_is_read_and_the_offsets_without_a_record_are_named() -> None:
    # 40..49 never came; on the broker, 44 and 45 are an aborted record and its marker.
    broker = BrokerRuns({6: {o: f"r{o}".encode() for o in range(40, 50) if o not in (44, 45)}})
    [(found, absent)] = asyncio.run(read_runs(broker, [_run(6, range(40, 50))]))
    assert broker.reads == [[("t.pos.receipts", 6, 40, 50)]]
    assert [(e.message.offset, e.message.value) for e in found] == [
        (o, f"r{o}".encode()) for o in (40, 41, 42, 43, 46, 47, 48, 49)
    ]
    assert {e.message.generation_id for e in found} == {3}
    assert absent == [44, 45]


def test_a_jump_of_one_offset_is_read_marker_or_dropped_record_alike() -> None:
    # Partition 1: offset 1822 is a receipt Faust dropped (the loss this read exists for);
    # partition 2: offset 10 is a commit marker. Both runs go in one read.
    broker = BrokerRuns({1: {1822: b"r-33-17156"}, 2: {}})
    answers = asyncio.run(read_runs(broker, [_run(1, range(1822, 1823)), _run(2, range(10, 11))]))
    assert broker.reads == [[("t.pos.receipts", 1, 1822, 1823), ("t.pos.receipts", 2, 10, 11)]]
    (found, absent), (markers_found, markers) = answers
    assert [(e.message.offset, e.message.value) for e in found] == [(1822, b"r-33-17156")]
    assert absent == [] and markers_found == [] and markers == [10]


def test_no_run_no_read() -> None:
    broker = BrokerRuns({})
    assert asyncio.run(read_runs(broker, [])) == [] and broker.reads == []


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
        return [
            SimpleNamespace(topic=p.topic, partition=p.partition, offset=-1001) for p in partitions
        ]

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
        # Several runs in one read (one assignment), each given its own records.
        single, plain_pair, committed = reader.read_many(
            [(topic, 0, 12, offsets[b"last"]), (topic, 0, 4, 6), (topic, 0, 9, 12)]
        )
        assert single == []  # a commit marker only
        assert [value for _o, _s, _k, value, _h in plain_pair] == [b"plain-4", b"plain-5"]
        assert [value for _o, _s, _k, value, _h in committed] == [b"committed-0", b"committed-1"]

        committer = Consumer(settings.kafka_client_config() | {"group.id": group})
        committer.commit(offsets=[TopicPartition(topic, 0, 4)], asynchronous=False)
        committer.close()
        assert reader.start_of(topic, 0, group) == 4  # the group's committed offset
    finally:
        reader.close()
