"""Offsets an input partition jumped over, read straight from the broker.

aiokafka hands each partition's records over in offset order; with `read_committed` it
skips transaction markers and aborted records, which take offsets too. So a jump in the
offsets of a partition is expected now and then, and only the broker can tell whether it
held records. The intake asks `RunReader` for every jump (all of a batch's in one read):
records found are put in their place, and a jump that held records is logged as an error,
since it means records were lost on their way.

`RunReader` has a consumer of its own (confluent-kafka, `read_committed`), assigned
partitions by hand: it never joins a group and never commits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Record:
    """An input record read by `RunReader`, shaped like aiokafka's `ConsumerRecord`."""

    topic: str
    partition: int
    offset: int
    timestamp: int  # ms
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class Run:
    """Offsets [start, end) of a topic partition to read."""

    topic: str
    partition: int
    start: int
    end: int


class RunReader:
    def __init__(
        self,
        config: dict[str, Any],
        timeout: float = 60.0,
        consumer_factory: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self.config = config | {
            "group.id": "tierflow-run-reader",  # required by librdkafka; never joined
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
        self._lock = threading.Lock()  # one read at a time; `close` waits for a read
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

    def read_many(self, runs: list[Run]) -> list[list[Record]]:
        """The records of each run, in offset order, in the order of `runs`. Each run's end
        is an offset the caller has read, so the broker has everything before it."""
        with self._lock:
            spans: dict[tuple[str, int], tuple[int, int]] = {}
            for run in runs:
                low, high = spans.get((run.topic, run.partition), (run.start, run.end))
                spans[(run.topic, run.partition)] = (min(low, run.start), max(high, run.end))
            read = self._read(spans)
        return [
            [r for r in read[(run.topic, run.partition)] if run.start <= r.offset < run.end]
            for run in runs
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
                for message in consumer.consume(num_messages=500, timeout=0.1):
                    error = message.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            continue
                        raise KafkaException(error)
                    key = (message.topic(), message.partition())
                    if key not in reading:
                        continue
                    start, end = spans[key]
                    if message.offset() >= end:
                        reading.discard(key)
                    elif message.offset() >= start:
                        _kind, stamp = message.timestamp()
                        found[key].append(
                            Record(*key, message.offset(), stamp, message.key(), message.value())
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

    def close(self) -> None:
        with self._lock:
            if self._consumer is not None:
                self._consumer.close()
            self._consumer = None
