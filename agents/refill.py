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

from agents.contiguity import MARKER_SLACK


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
        with self._lock:
            return self._read(topic, partition, start, end)

    def _read(
        self, topic: str, partition: int, start: int, end: int
    ) -> list[tuple[int, int, bytes | None, bytes | None, Any]]:
        from confluent_kafka import KafkaError, KafkaException, TopicPartition

        consumer = self._ensure()
        consumer.assign([TopicPartition(topic, partition, start)])
        found: list[tuple[int, int, bytes | None, bytes | None, Any]] = []
        deadline = time.monotonic() + self.timeout
        batch = max(1, min(500, end - start + 1))  # the run and the record after it
        try:
            while time.monotonic() < deadline:
                for record in consumer.consume(num_messages=batch, timeout=0.1):
                    error = record.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            continue
                        raise KafkaException(error)
                    if record.offset() >= end:
                        return self._counted(found)
                    if record.offset() >= start:
                        _kind, stamp = record.timestamp()
                        found.append(
                            (record.offset(), stamp, record.key(), record.value(), record.headers())
                        )
                position = consumer.position([TopicPartition(topic, partition)])[0].offset
                if position >= end:  # the rest of the run were markers or aborted records
                    return self._counted(found)
            raise TimeoutError(
                f"reading {topic}[{partition}] offsets {start}..{end - 1} took over "
                f"{self.timeout:.0f} s"
            )
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

    def _counted(self, found: list[Any]) -> list[Any]:
        self.runs += 1
        self.records += len(found)
        return found

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


async def read_missing(
    reader: Any, message: Any, missing: range
) -> tuple[list[Refilled], list[int]]:
    """The offsets `missing` just before `message` (a record of the same partition): the
    records among them, read from the broker by `reader` (a `RunReader`) as events of
    `message`'s assignment, and the offsets that hold no record. A jump of up to
    `MARKER_SLACK` offsets is taken as transaction markers without a read."""
    return await read_run(reader, message.topic, message.partition, message.generation_id, missing)


async def read_run(
    reader: Any, topic: str, partition: int, generation_id: int | None, missing: range
) -> tuple[list[Refilled], list[int]]:
    """`read_missing` for a partition named directly (a dropped tail has no record after
    it): the records at the offsets `missing`, as events of the assignment
    `generation_id`, and the offsets that hold no record."""
    if len(missing) <= MARKER_SLACK:
        return [], list(missing)
    records = await asyncio.to_thread(reader.read, topic, partition, missing.start, missing.stop)
    found = as_events(topic, partition, records, generation_id)
    got = {event.message.offset for event in found}
    return found, [offset for offset in missing if offset not in got]
