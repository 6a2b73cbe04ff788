"""Event-time alignment of the co-partitioned input topics, before the rules see them.

Receipts, member events and review ticks of one member arrive on three topics. A consumer
fetches each topic partition on its own, so a small topic (member events) can run far ahead
of a large one (receipts): a year of redemptions would be applied before the receipts that
earned the points. Like Kafka Streams (`max.task.idle.ms`), the aligner releases, per
partition number, only the records whose record timestamp is at or below the lowest of the
latest timestamps seen on each input topic; a topic partition that is caught up (its last
record delivered is the last one the broker has, give or take transaction markers; one the
consumer cannot say anything of yet; or one silent for `max_silence`) holds nothing back.
The agent asks the aligner again at least every `batch_within` seconds, with or without new
input (agents/intake.py), so a hold always ends. Released records come out in timestamp
order (topic order and offset break ties), so the worker applies a member's receipts and
events in the order they were published, as the offline replay does with its file. Records
held back are not acknowledged, so a crash re-delivers them.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("tierflow.agents.alignment")


@dataclass(slots=True)
class _Held:
    timestamp: int  # record timestamp, ms
    rank: int  # the topic's position in the aligner's topic list (ties)
    offset: int
    item: Any


def _order(record: _Held) -> tuple[int, int, int]:
    return (record.timestamp, record.rank, record.offset)


def _queues(records: list[_Held]) -> list[list[_Held]]:
    """A partition's held records split per input topic, each in offset order."""
    by_topic: dict[int, list[_Held]] = {}
    for record in sorted(records, key=lambda r: (r.rank, r.offset)):
        by_topic.setdefault(record.rank, []).append(record)
    return list(by_topic.values())


@dataclass(slots=True)
class _TopicPartition:
    latest: int = -1  # highest record timestamp seen, ms
    offset: int = -1  # last offset seen
    seen_at: float | None = None  # when a record last arrived (monotonic seconds)


# (topic, partition, last offset delivered) -> how many offsets the broker has beyond it
# (0: caught up), or None while the consumer cannot say.
Lag = Callable[[str, int, int], int | None]
# Offsets a caught-up partition may still show: the commit markers of a producer's
# transactions take offsets but deliver no record.
MARKER_SLACK = 2


@dataclass(slots=True)
class EventTimeAligner:
    """Holds back records that are ahead of another input topic of the same partition."""

    topics: Sequence[str]
    lag: Lag | None = None
    idle_seconds: float = 0.5
    # Under a backlog a small input can deliver nothing for many seconds while records of it
    # wait (the demo, with 5 s: member-events partitions 3-9 records behind and silent up
    # to 22 s, so receipts went ahead of redemptions published before them).
    max_silence: float = 30.0
    max_held: int = 200_000  # past this, the oldest records go out regardless (logged)
    clock: Callable[[], float] = time.monotonic
    _held: dict[int, list[_Held]] = field(default_factory=dict)
    _inputs: dict[tuple[str, int], _TopicPartition] = field(default_factory=dict)
    _started: dict[int, float] = field(default_factory=dict)
    forced: int = 0  # records released by the max_held cap, not by the watermark
    timed_out: int = 0  # holds ended by `max_silence` while records were known to wait
    _timed_out: set[tuple[str, int]] = field(default_factory=set)

    def add(self, topic: str, partition: int, offset: int, timestamp: int, item: Any) -> None:
        rank = self.topics.index(topic)
        now = self.clock()
        self._started.setdefault(partition, now)
        self._held.setdefault(partition, []).append(_Held(timestamp, rank, offset, item))
        state = self._inputs.setdefault((topic, partition), _TopicPartition())
        state.latest = max(state.latest, timestamp)
        state.offset = max(state.offset, offset)
        state.seen_at = now
        self._timed_out.discard((topic, partition))

    def held(self) -> int:
        return sum(len(records) for records in self._held.values())

    def watermark(self, partition: int, now: float) -> float:
        """The timestamp up to which every input topic of `partition` has been seen."""
        lowest = float("inf")
        for topic in self.topics:
            holds = self._holds_back(topic, partition, now)
            if holds is not None:
                lowest = min(lowest, holds)
        return lowest

    def _holds_back(self, topic: str, partition: int, now: float) -> int | None:
        """The timestamp this input topic holds the others to, or None: it is caught up."""
        state = self._inputs.get((topic, partition))
        behind = self.lag(topic, partition, state.offset if state else -1) if self.lag else None
        if behind is not None and behind <= MARKER_SLACK:
            return None
        # Whatever the lag says (a stale end or committed offset), an input that has
        # delivered nothing for `max_silence` (since its last record, or since its
        # partition's first record here) holds the others back no longer: a hold is
        # bounded, as with Kafka Streams' `max.task.idle.ms`.
        seen_at = state.seen_at if state is not None else None
        quiet_since = seen_at if seen_at is not None else self._started.get(partition, now)
        if now - quiet_since >= self.max_silence:
            if behind is not None and (topic, partition) not in self._timed_out:
                self._timed_out.add((topic, partition))
                self.timed_out += 1
                log.warning(
                    "aligner_hold_timed_out topic=%s partition=%d behind=%d quiet_s=%.1f",
                    topic,
                    partition,
                    behind,
                    now - quiet_since,
                )
            return None
        if state is None or seen_at is None:
            # Nothing from it yet: a known backlog holds the others until it arrives; an
            # unknown one (no end or committed offset known) holds nothing back.
            return None if behind is None else -1
        if behind is None and now - seen_at >= self.idle_seconds:
            return None
        return state.latest

    def release(self) -> list[Any]:
        """The records every input topic has caught up with, in timestamp order.

        Each topic partition's records come out in offset order, whatever their timestamps:
        a member record's applied offsets (agents/member_record.py) skip any input at or
        below the last one applied, so releasing a later offset before an earlier one of
        the same topic partition would drop the earlier one. Hence each input releases a
        prefix of its queue and the queues are merged by their heads' timestamps.
        """
        now = self.clock()
        ready: list[list[_Held]] = []
        for partition, records in self._held.items():
            limit = self.watermark(partition, now)
            kept: list[_Held] = []
            for queue in _queues(records):
                cut = 0
                while cut < len(queue) and queue[cut].timestamp <= limit:
                    cut += 1
                ready.append(queue[:cut])
                kept.extend(queue[cut:])
            self._held[partition] = kept
        released = list(heapq.merge(*ready, key=_order))
        released.extend(self._over_cap())
        return [r.item for r in released]

    def _over_cap(self) -> list[_Held]:
        """The oldest held records beyond `max_held`: memory is bounded, order may suffer
        across topics, never within a topic partition (each gives up a prefix)."""
        excess = self.held() - self.max_held
        if excess <= 0:
            return []
        queues = [
            (partition, queue)
            for partition, records in self._held.items()
            for queue in _queues(records)
        ]
        merged = heapq.merge(
            *([(r, partition) for r in queue] for partition, queue in queues),
            key=lambda pair: _order(pair[0]),
        )
        forced = list(itertools.islice(merged, excess))
        gone = {id(r) for r, _ in forced}
        for partition in {partition for _, partition in forced}:
            self._held[partition] = [r for r in self._held[partition] if id(r) not in gone]
        self.forced += len(forced)
        return [r for r, _ in forced]

    def forget_all(self) -> list[Any]:
        """Drop everything held (a rebalance: it will all be read again)."""
        return self.forget(set(self._held) | set(self._started) | {p for _, p in self._inputs})

    def forget(self, partitions: set[int]) -> list[Any]:
        """Drop what is held for revoked partitions (their records were never acknowledged,
        so the next owner re-reads them); returns the dropped items."""
        dropped: list[Any] = []
        self._timed_out = {key for key in self._timed_out if key[1] not in partitions}
        for partition in partitions:
            dropped.extend(r.item for r in self._held.pop(partition, []))
            self._started.pop(partition, None)
            for key in [k for k in self._inputs if k[1] == partition]:
                del self._inputs[key]
        return dropped
