"""Offsets an input partition jumped over are read straight from the broker
(streams/faust_adapter/refill.py): exactly the runs asked for, in offset order, without the
records of aborted transactions."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from streams.faust_adapter.refill import Run, RunReader


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

    reader = RunReader({}, timeout=1.0, consumer_factory=factory)
    with pytest.raises(TimeoutError, match=r"t\.pos\.receipts\[2\] offsets 5\.\.9"):
        reader.read_many([Run("t.pos.receipts", 2, 5, 10)])
    consumer = made[0]
    assert consumer.config["isolation.level"] == "read_committed"
    assert consumer.config["enable.auto.commit"] is False
    assert consumer.assigned == []  # unassigned after the attempt
    assert reader.runs == 0


@pytest.mark.integration
def test_reads_exactly_the_run_asked_for_and_never_an_aborted_record(
    tierflow_settings: Any,
) -> None:
    from confluent_kafka import Producer

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

    reader = RunReader(settings.kafka_client_config())

    def read(start: int, end: int) -> list[Any]:
        return reader.read_many([Run(topic, 0, start, end)])[0]

    try:
        everything = read(0, 14)  # up to the end, if `last` is at 12
        offsets = {record.value: record.offset for record in everything}
        assert not any(value.startswith(b"aborted") for value in offsets)
        assert [offsets[b"committed-0"], offsets[b"committed-1"]] == [10, 11]

        run = read(3, offsets[b"last"])
        assert [(record.offset, record.value) for record in run] == [
            (3, b"plain-3"),
            (4, b"plain-4"),
            (5, b"plain-5"),
            (10, b"committed-0"),
            (11, b"committed-1"),
        ]
        assert all(r.timestamp > 0 and r.key == b"M1" and r.partition == 0 for r in run)
        # Only aborted records and a marker between two offsets: nothing.
        assert read(6, 10) == []
        assert (reader.runs, reader.records) == (3, 9 + 5)
        # Several runs in one read (one assignment), each given its own records.
        single, plain_pair, committed = reader.read_many(
            [Run(topic, 0, 12, offsets[b"last"]), Run(topic, 0, 4, 6), Run(topic, 0, 9, 12)]
        )
        assert single == []  # a commit marker only
        assert [r.value for r in plain_pair] == [b"plain-4", b"plain-5"]
        assert [r.value for r in committed] == [b"committed-0", b"committed-1"]
    finally:
        reader.close()
