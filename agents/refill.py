"""Input records Faust skipped, read straight from the broker and put back in their place.

Around rebalances Faust can skip records of the current assignment: its stream drops the
events it receives while flow control is off or whose generation has just ended
(faust/streams.py), and its fetch loop drops records below its read offset
(faust/transport/consumer.py, `_drain_messages`). The fetch position has moved past them, so
they never come, and Faust's gap bookkeeping can commit past them. A member record skips any
input at or below the last offset it applied, so a skipped run would be lost for the
members it touches (docs/reliability.md).

Seeking the partition back races with Faust's fetcher, which keeps delivering the batch it
holds and then drops the re-read records as older than its read offset. So the worker does
not ask Faust again: when `ContiguityWatch` sees a record jump over offsets, `RunReader`
reads exactly those offsets from the broker (its own consumer, `read_committed`, no group
membership, nothing committed) and the agent applies them before the record that jumped.
Offsets the broker does not return (transaction markers, aborted transactions) were never
input. A run Faust does deliver later is a repeat: the member records skip it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Record = tuple[int, int, bytes | None, bytes | None, Any]  # offset, ms, key, value, headers


@dataclass(frozen=True, slots=True)
class Refilled:
    """An input read by `RunReader`: shaped like a Faust event (`.message`), acknowledged
    on the consumer directly (it never went through the stream)."""

    message: Any  # faust.types.Message


class RunReader:
    """Reads runs of offsets of input partitions from the broker, with one consumer that
    is assigned partitions by hand (it never joins a group and never commits)."""

    def __init__(
        self,
        config: dict[str, Any],
        timeout: float = 60.0,
        consumer_factory: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self.config = config | {
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            # A run is on the broker already: answer at once, not after the default 500 ms.
            "fetch.wait.max.ms": 10,
        }
        self.timeout = timeout
        self._factory = consumer_factory
        self._consumer: Any = None
        self._groups: Any = None  # asks the worker's group for its committed offsets
        self._lock = threading.Lock()  # one caller at a time; `close` waits for a read
        self.runs = 0  # runs read
        self.records = 0  # records they held

    def _ensure(self) -> Any:
        if self._consumer is None:
            if self._factory is not None:
                self._consumer = self._factory(self.config)
            else:
                from confluent_kafka import Consumer

                self._consumer = Consumer(self.config)
        return self._consumer

    def read(
        self, topic: str, partition: int, start: int, end: int
    ) -> list[tuple[int, int, bytes | None, bytes | None, Any]]:
        """The records of `topic`/`partition` at offsets `start` up to `end` (excluded):
        (offset, timestamp in ms, key, value, headers) in offset order. `end` is an offset
        the caller has read, so the broker has everything before it."""
        return self.read_many([(topic, partition, start, end)])[0]

    def read_many(self, runs: list[tuple[str, int, int, int]]) -> list[list[Record]]:
        """`read` for several runs (topic, partition, start, end) at once, with one
        assignment: the records of each run, in the order of `runs`."""
        with self._lock:
            spans: dict[tuple[str, int], tuple[int, int]] = {}
            for topic, partition, start, end in runs:
                low, high = spans.get((topic, partition), (start, end))
                spans[(topic, partition)] = (min(low, start), max(high, end))
            read = self._read(spans)
        return [
            [record for record in read[(topic, partition)] if start <= record[0] < end]
            for topic, partition, start, end in runs
        ]

    def _read(self, spans: dict[tuple[str, int], tuple[int, int]]) -> dict[Any, list[Record]]:
        from confluent_kafka import KafkaError, KafkaException, TopicPartition

        consumer = self._ensure()
        consumer.assign([TopicPartition(t, p, start) for (t, p), (start, _) in spans.items()])
        found: dict[tuple[str, int], list[Record]] = {key: [] for key in spans}
        reading = set(spans)
        deadline = time.monotonic() + self.timeout
        try:
            while reading and time.monotonic() < deadline:
                for record in consumer.consume(num_messages=500, timeout=0.1):
                    error = record.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            continue
                        raise KafkaException(error)
                    key = (record.topic(), record.partition())
                    if key not in reading:
                        continue
                    start, end = spans[key]
                    if record.offset() >= end:
                        reading.discard(key)
                    elif record.offset() >= start:
                        _kind, stamp = record.timestamp()
                        found[key].append(
                            (record.offset(), stamp, record.key(), record.value(), record.headers())
                        )
                if reading:  # the rest of a run may be markers or aborted records
                    positions = consumer.position([TopicPartition(t, p) for t, p in reading])
                    for position in positions:
                        key = (position.topic, position.partition)
                        if position.offset >= spans[key][1]:
                            reading.discard(key)
            if reading:
                topic, partition = min(reading)
                start, end = spans[(topic, partition)]
                raise TimeoutError(
                    f"reading {topic}[{partition}] offsets {start}..{end - 1} took over "
                    f"{self.timeout:.0f} s"
                )
            self.runs += len(spans)
            self.records += sum(len(records) for records in found.values())
            return found
        finally:
            consumer.unassign()

    def start_of(self, topic: str, partition: int, group: str) -> int:
        """Where `group` reads the partition from after an assignment: its committed
        offset, or the partition's oldest offset when it has none
        (`auto_offset_reset=earliest`). Asked of the group coordinator without joining."""
        from confluent_kafka import Consumer, TopicPartition

        with self._lock:
            if self._groups is None:
                self._groups = Consumer(self.config | {"group.id": group})
            committed = self._committed(TopicPartition(topic, partition))
            if committed.offset >= 0:
                return int(committed.offset)
            low, _high = self._groups.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=self.timeout, cached=False
            )
        return int(low)

    def _committed(self, tp: Any) -> Any:
        """The group's committed offset, retried while the coordinator moves or loads."""
        from confluent_kafka import KafkaError, KafkaException

        passing = {
            KafkaError.NOT_COORDINATOR,
            KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
            KafkaError.COORDINATOR_NOT_AVAILABLE,
        }
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                [committed] = self._groups.committed([tp], timeout=self.timeout)
                return committed
            except KafkaException as error:
                reason = error.args[0]
                if time.monotonic() >= deadline or not (
                    reason.retriable() or reason.code() in passing
                ):
                    raise
                time.sleep(0.2)

    def close(self) -> None:
        with self._lock:
            for consumer in (self._consumer, self._groups):
                if consumer is not None:
                    consumer.close()
            self._consumer = self._groups = None


def as_events(
    topic: str, partition: int, records: list[Any], generation_id: int | None
) -> list[Refilled]:
    """Records read by `RunReader` as events of the assignment that skipped them."""
    from faust.types import TP, Message

    tp = TP(topic, partition)
    return [
        Refilled(
            Message(
                topic,
                partition,
                offset,
                stamp / 1000.0,
                0,
                headers,
                key,
                value,
                None,
                tp=tp,
                generation_id=generation_id,
            )
        )
        for offset, stamp, key, value, headers in records
    ]


@dataclass(frozen=True, slots=True)
class Run:
    """Offsets of an input partition never delivered in the assignment `generation_id`."""

    topic: str
    partition: int
    generation_id: int | None
    missing: range


async def read_runs(reader: Any, runs: list[Run]) -> list[tuple[list[Refilled], list[int]]]:
    """For each run, in one read from the broker by `reader` (a `RunReader`): its records,
    as events of its assignment, and the offsets that hold no record (transaction markers,
    aborted transactions). Every run is read, however short: a jump of one offset may be a
    commit marker or a record Faust dropped, and only the broker can tell."""
    if not runs:
        return []
    spans = [(run.topic, run.partition, run.missing.start, run.missing.stop) for run in runs]
    records = await asyncio.to_thread(reader.read_many, spans)
    answers = []
    for run, read in zip(runs, records, strict=True):
        found = as_events(run.topic, run.partition, read, run.generation_id)
        got = {event.message.offset for event in found}
        answers.append((found, [offset for offset in run.missing if offset not in got]))
    return answers
