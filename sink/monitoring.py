"""What the sink's operations endpoints read: bucket counts of durations, and how far the store
is behind the broker (lag per partition, and how long the oldest message readers cannot see yet
has been on the broker). Plain numbers, updated once per batch; nothing here talks to Kafka.
"""

from __future__ import annotations

import math
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

Partition = tuple[str, int]

COMMIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
UPKEEP_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
# End-offset marks kept per partition while the store is behind; past this, neighbours merge
# (the age read then errs on the old side, never the young one).
MAX_MARKS = 128


@dataclass(slots=True)
class Histogram:
    """Bucket counts (the last bucket is +Inf), a sum and a count."""

    bounds: Sequence[float] = COMMIT_BUCKETS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        """(upper bound, observations at or below it), +Inf last, as Prometheus wants."""
        out, running = [], 0
        for bound, count in zip((*self.bounds, math.inf), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == math.inf else repr(bound), running))
        return out


class Freshness:
    """How far the store is behind the broker, per assigned partition.

    `stored`: the next offset the store has committed (what readers can see ends just before
    it). `ends`: the broker's end offset (high watermark) as the consumer's fetches last saw
    it. `marks`: each time an end offset grew past what is stored, when that was first seen,
    so the age of the oldest message readers cannot see is `now` minus the first mark past
    `stored` (to within the time between two samples).

    The consume loop calls `assign`, `revoke` and `committed`; the operations thread calls
    `observe` and reads; one lock keeps the two apart.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self.stored: dict[Partition, int] = {}
        self.lows: dict[Partition, int] = {}
        self.ends: dict[Partition, int] = {}
        self.marks: dict[Partition, list[tuple[float, int]]] = {}
        self.assigned: set[Partition] = set()

    def assign(self, partitions: Iterable[Partition], stored: Mapping[Partition, int]) -> None:
        with self._lock:
            for partition in partitions:
                self.assigned.add(partition)
                if partition in stored:
                    self.stored[partition] = stored[partition]

    def revoke(self, partitions: Iterable[Partition]) -> None:
        with self._lock:
            for partition in partitions:
                self.assigned.discard(partition)
                for known in (self.stored, self.lows, self.ends, self.marks):
                    known.pop(partition, None)

    def committed(self, offsets: Mapping[Partition, int]) -> None:
        """A batch is in the store: readers see up to these next offsets."""
        with self._lock:
            self.stored.update(offsets)

    def partitions(self) -> list[Partition]:
        with self._lock:
            return sorted(self.assigned)

    def observe(self, ends: Mapping[Partition, tuple[int, int]]) -> None:
        """The broker's (low, high) offsets per partition; negative: not fetched yet."""
        now = self.clock()
        with self._lock:
            for partition, (low, high) in ends.items():
                if partition not in self.assigned or high < 0:
                    continue
                self.ends[partition] = high
                if low >= 0:
                    self.lows[partition] = low
                stored = self._stored(partition)
                marks = [m for m in self.marks.get(partition, ()) if m[1] > stored]
                if high > stored and (not marks or high > marks[-1][1]):
                    marks.append((now, high))
                if len(marks) > MAX_MARKS:
                    self.marks[partition] = _halved(marks)
                else:
                    self.marks[partition] = marks

    def _stored(self, partition: Partition) -> int:
        # A partition the store never held starts at the broker's first offset.
        return self.stored.get(partition, self.lows.get(partition, 0))

    def unknown(self) -> int:
        """Assigned partitions whose end offset no fetch has told yet."""
        with self._lock:
            return sum(1 for partition in self.assigned if partition not in self.ends)

    def lag(self) -> dict[Partition, int]:
        """Messages on the broker past what the store holds, per assigned partition with a
        known end."""
        with self._lock:
            return {
                partition: max(self.ends[partition] - self._stored(partition), 0)
                for partition in sorted(self.assigned)
                if partition in self.ends
            }

    def data_age(self) -> float:
        """Seconds the oldest message readers cannot see yet has been on the broker, as
        sampled; 0 when the store holds every message the broker has."""
        now = self.clock()
        oldest = now
        with self._lock:
            for partition in self.assigned:
                end = self.ends.get(partition)
                stored = self._stored(partition)
                if end is None or end <= stored:
                    continue
                first = next((t for t, e in self.marks.get(partition, ()) if e > stored), now)
                oldest = min(oldest, first)
        return max(now - oldest, 0.0)


def _halved(marks: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """(t0, e1), (t2, e3), ...: each pair keeps its earlier time and its larger end, so an age
    read from them is never younger than the truth (an odd last mark stays as it is)."""
    merged = [(marks[i][0], marks[i + 1][1]) for i in range(0, len(marks) - 1, 2)]
    if len(marks) % 2:
        merged.append(marks[-1])
    return merged
