"""Releases input records in the one order rule (agents/usecase/order.py) as they arrive.

Per partition, each input topic has a queue of records not yet applied, in offset order. The
rule takes, of the queues' heads, the one with the lowest (record timestamp, topic rank); so
a head may go only when no topic with an empty queue could still deliver a record that goes
first. A topic with an empty queue is waited for unless it is caught up: the broker holds
nothing past what was handed over (give or take transaction markers), or its lag is unknown
and it has delivered nothing for `idle_seconds`, or it has delivered nothing for
`max_silence` (a bound on every wait, like Kafka Streams' `max.task.idle.ms`; a wait it ends
while records were known to be behind is counted in `timed_out` and logged). So records come
out in the same order as the offline replay applies a file, unless a record arrives after
records stamped later than it were released (a late arrival: it is applied on arrival).
Records held back are not committed, so a crash or a rebalance reads them again.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from agents.usecase.order import RANK
from agents.worker.ports import InputRecord

log = logging.getLogger("tierflow.worker.alignment")

# (topic, partition) -> records on the broker past the last one handed over, or None.
Lag = Callable[[str, int], int | None]
# Offsets a caught-up partition may still show: transaction markers deliver no record.
MARKER_SLACK = 2


@dataclass(slots=True)
class _Partition:
    queues: dict[str, deque[InputRecord]] = field(default_factory=dict)
    started: float = 0.0  # when its first record arrived here
    seen_at: dict[str, float] = field(default_factory=dict)  # topic -> last arrival
    timed_out: set[str] = field(default_factory=set)


@dataclass(slots=True)
class EventTimeAligner:
    kinds: Mapping[str, str]  # input topic -> kind (RECEIPTS, MEMBER_EVENTS, REVIEW_TICKS)
    lag: Lag
    idle_seconds: float = 0.5
    max_silence: float = 30.0
    max_held: int = 200_000  # past this, the first records by the rule go regardless
    clock: Callable[[], float] = time.monotonic
    timed_out: int = 0
    forced: int = 0  # records released by the cap, not by the rule
    _partitions: dict[int, _Partition] = field(default_factory=dict)
    _held: int = 0

    def add(self, records: Iterable[InputRecord]) -> None:
        now = self.clock()
        for record in records:
            state = self._partitions.get(record.partition)
            if state is None:
                state = self._partitions[record.partition] = _Partition(started=now)
            queue = state.queues.get(record.topic)
            if queue is None:
                queue = state.queues[record.topic] = deque()
            queue.append(record)
            state.seen_at[record.topic] = now
            state.timed_out.discard(record.topic)
            self._held += 1

    def held(self) -> int:
        return self._held

    def release(self) -> list[InputRecord]:
        """The records that may go now, in apply order."""
        now = self.clock()
        out: list[InputRecord] = []
        for partition, state in self._partitions.items():
            self._release_partition(partition, state, now, out)
        self._held -= len(out)
        if self._held > self.max_held:
            out.extend(self._over_cap(self._held - self.max_held))
        return out

    def forget_all(self) -> int:
        """Drop everything held (a new assignment reads it again); returns how many."""
        dropped, self._held = self._held, 0
        self._partitions.clear()
        return dropped

    def _release_partition(
        self, partition: int, state: _Partition, now: float, out: list[InputRecord]
    ) -> None:
        queues = state.queues
        heads = [
            (queue[0].timestamp, RANK[self.kinds[topic]], topic)
            for topic, queue in queues.items()
            if queue
        ]
        if not heads:
            return
        heapq.heapify(heads)
        waiting = [t for t in self.kinds if not queues.get(t)]
        if any(self._waits_for(t, partition, state, now) for t in waiting):
            return
        while heads:
            _stamp, _rank, topic = heads[0]
            queue = queues[topic]
            out.append(queue.popleft())
            if queue:
                heapq.heapreplace(heads, (queue[0].timestamp, RANK[self.kinds[topic]], topic))
                continue
            heapq.heappop(heads)
            if heads and self._waits_for(topic, partition, state, now):
                return

    def _over_cap(self, excess: int) -> list[InputRecord]:
        """Memory stays bounded: the first `excess` records by the rule over all partitions,
        waits ignored (each topic partition still gives up its records in offset order)."""
        heads = [
            (queue[0].timestamp, RANK[self.kinds[topic]], partition, topic)
            for partition, state in self._partitions.items()
            for topic, queue in state.queues.items()
            if queue
        ]
        heapq.heapify(heads)
        forced: list[InputRecord] = []
        while heads and len(forced) < excess:
            _stamp, rank, partition, topic = heads[0]
            queue = self._partitions[partition].queues[topic]
            forced.append(queue.popleft())
            if queue:
                heapq.heapreplace(heads, (queue[0].timestamp, rank, partition, topic))
            else:
                heapq.heappop(heads)
        self._held -= len(forced)
        self.forced += len(forced)
        log.warning("aligner_cap_released records=%d max_held=%d", len(forced), self.max_held)
        return forced

    def _waits_for(self, topic: str, partition: int, state: _Partition, now: float) -> bool:
        """Whether the others must wait for `topic` (whose queue is empty) on `partition`."""
        behind = self.lag(topic, partition)
        if behind is not None and behind <= MARKER_SLACK:
            return False
        quiet_since = state.seen_at.get(topic, state.started)
        if now - quiet_since >= self.max_silence:
            if behind is not None and topic not in state.timed_out:
                state.timed_out.add(topic)
                self.timed_out += 1
                log.warning(
                    "aligner_hold_timed_out topic=%s partition=%d behind=%d quiet_s=%.1f",
                    topic,
                    partition,
                    behind,
                    now - quiet_since,
                )
            return False
        return not (behind is None and now - quiet_since >= self.idle_seconds)
