"""The worker's input: records taken from Faust's consumer at the fetch, handed over in
batches that are contiguous per partition, within one assignment (epoch).

How records flow. Each fetch of Faust's consumer passes through `take` (installed by
streams/faust_adapter/internals.py): the records of the input topics are queued here, per
topic partition; Faust keeps the rest (table changelogs, standbys). Faust never sees the
input records, so its streams, acknowledgements and commits play no part: `batches()` hands
them to the worker, and the worker's checkpoint commits their offsets (`commit`).

Epochs. A rebalance's revoke starts a new epoch (`revoke`): what is queued is dropped, and
a fetch that was under way when it began is dropped too (its records were read in the old
assignment). After the rebalance Faust recovers the tables, then seeks every assigned
partition to its committed offset; that report (`seeked`) opens the partitions: from then
on each partition's records are handed over from its committed offset on. A partition's
records are held until it is open.

Contiguity. Per open partition the intake expects the offset after the last one handed over.
A repeat (a record below it: the fetch started before the seek) is dropped. A jump (a
record above it) is read from the broker (streams/faust_adapter/refill.py): transaction
markers and aborted records take offsets and hold no input, anything else is put in its
place and logged, so the worker never misses an input.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from agents.worker.ports import InputBatch, InputRecord, Offsets
from streams.faust_adapter.refill import Run, RunReader

log = logging.getLogger("tierflow.faust_adapter.intake")

TP = tuple[str, int]


@dataclass(slots=True)
class IntakeCounters:
    taken: int = 0  # input records taken from Faust's fetches
    dropped_stale: int = 0  # records of a fetch that a rebalance overtook
    repeats: int = 0  # records below the expected offset (read again after a seek)
    jumps: int = 0  # offset jumps read from the broker
    refilled: int = 0  # records those reads found (records lost on the way)
    waits: int = 0  # fetches held back while the queue was full


class FaustInput:
    """Implements `agents.worker.ports.InputSource` on Faust's consumer."""

    def __init__(
        self,
        topics: frozenset[str],
        runs: RunReader,
        batch_size: int,
        pulse: float,
        highwater: Any,  # (topic, partition) -> the broker's end offset or None
        max_queued: int | None = None,
        bounds: Any = None,  # async (tps) -> {tp: (first offset, end offset)} on the broker
    ) -> None:
        self.topics = topics
        self.runs = runs
        self.batch_size = batch_size
        self.pulse = pulse
        self.highwater = highwater
        self.bounds = bounds
        self._ends: dict[TP, int] = {}  # end offsets asked of the broker when opened
        self.max_queued = max_queued or 4 * batch_size
        self.counters = IntakeCounters()
        self._epoch = 0
        self._queues: dict[TP, deque[Any]] = {}
        self._queued = 0
        self._expected: dict[TP, int | None] = {}  # open partitions -> next offset
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._closed = False
        self.commit_offsets: Any = None  # the consumer's commit (streams/app.py sets it)
        self._starting: asyncio.Future[None] | None = None
        self.last_fetch = time.monotonic()  # Faust's fetch loop turns once per fetch
        self.assigned: frozenset[TP] = frozenset()  # open input partitions

    # -- what Faust's consumer calls (streams/faust_adapter/internals.py) --

    def epoch_now(self) -> int:
        return self._epoch

    def take(self, records: Mapping[Any, list[Any]], epoch: int) -> Mapping[Any, list[Any]]:
        """Queue the input records of one fetch; give the rest back to Faust."""
        rest = {}
        for tp, batch in records.items():
            if tp.topic not in self.topics:
                rest[tp] = batch
            elif epoch != self._epoch:  # a rebalance began while this fetch was under way
                self.counters.dropped_stale += len(batch)
            elif batch:
                self._queues.setdefault((tp.topic, tp.partition), deque()).extend(batch)
                self._queued += len(batch)
                self.counters.taken += len(batch)
        if self._queued:
            self._arrived.set()
            if self._queued >= self.max_queued:
                self._room.clear()
        return rest

    async def room(self) -> None:
        """Hold Faust's fetch loop while the worker has enough queued (back-pressure); a
        rebalance or the end of the worker lets it go. Called after every fetch."""
        self.last_fetch = time.monotonic()
        while not self._room.is_set() and not self._closed:
            self.counters.waits += 1
            try:
                await asyncio.wait_for(self._room.wait(), timeout=1.0)
            except TimeoutError:
                continue

    def seeked(self, offsets: Mapping[Any, int | None]) -> None:
        """Faust seeked the assigned partitions to their committed offsets: open them. A
        partition with no committed offset is read from its first offset (the consumer's
        `auto_offset_reset=earliest`). Both ends of every partition are asked of the
        broker, so its lag is known before the first fetch of it comes back."""
        opened = []
        for tp, offset in offsets.items():
            if tp.topic in self.topics:
                known = offset is not None and offset >= 0
                self._expected[(tp.topic, tp.partition)] = offset if known else None
                opened.append(tp)
        self.assigned = frozenset(self._expected)
        if opened and self.bounds is not None:
            self._starting = asyncio.ensure_future(self._learn_bounds(opened, self._epoch))
        log.info(
            "input_partitions_open epoch=%d partitions=%d committed=%s",
            self._epoch,
            len(self._expected),
            ",".join(
                f"{t.rsplit('.', 1)[-1]}/{p}:{o}" for (t, p), o in sorted(self._expected.items())
            ),
        )
        if self._queued:
            self._arrived.set()

    async def _learn_bounds(self, tps: list[Any], epoch: int) -> None:
        try:
            bounds = await self.bounds(tps)
        except Exception as error:  # the lag stays unknown until the first fetch
            log.warning("input_partition_bounds_unknown error=%s", error)
            return
        if epoch != self._epoch:
            return
        for tp, (first, end) in bounds.items():
            key = (tp.topic, tp.partition)
            self._ends[key] = int(end)
            if key in self._expected and self._expected[key] is None:
                self._expected[key] = int(first)

    # -- what the rebalance and shutdown handlers call (streams/app.py) --

    def revoke(self) -> None:
        """A rebalance begins: a new epoch; queued input is dropped, partitions closed."""
        self._epoch += 1
        self._queues.clear()
        self._queued = 0
        self._expected.clear()
        self._ends.clear()
        self.assigned = frozenset()
        self._room.set()
        self._arrived.set()

    def close(self) -> None:
        self._closed = True
        self._room.set()
        self._arrived.set()

    # -- agents.worker.ports.InputSource --

    @property
    def epoch(self) -> int:
        return self._epoch

    async def batches(self) -> AsyncIterator[InputBatch]:
        loop = asyncio.get_running_loop()
        while not self._closed:
            deadline = loop.time() + self.pulse
            while not self._ready() and not self._closed:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), timeout=remaining)
                except TimeoutError:
                    break
            if self._closed:
                return
            epoch = self._epoch
            records = await self._next_records()
            if epoch == self._epoch:
                yield InputBatch(epoch, records)

    def status(self) -> dict[str, Any]:
        """What the intake holds and has seen, for the worker's health line and metrics."""
        counters = self.counters
        return {
            "epoch": self._epoch,
            "open_partitions": len(self._expected),
            "queued": self._queued,
            "fetch_held": not self._room.is_set(),
            "taken": counters.taken,
            "dropped_stale": counters.dropped_stale,
            "repeats": counters.repeats,
            "jumps": counters.jumps,
            "refilled": counters.refilled,
            "waits": counters.waits,
        }

    def lag(self, topic: str, partition: int) -> int | None:
        if (topic, partition) not in self._expected:
            return None
        try:
            end = self.highwater(topic, partition)  # as the last fetch of it saw it
        except Exception:  # not assigned here (a rebalance under way), or not started
            return None
        if end is None:
            end = self._ends.get((topic, partition))  # as the broker said when it opened
        if end is None:
            return None
        expected = self._expected[(topic, partition)]
        if expected is None:  # nothing committed, first offset not known yet
            return 0 if end == 0 else None
        return max(int(end) - expected, 0)

    async def commit(self, offsets: Offsets, epoch: int) -> bool:
        if epoch != self._epoch or not offsets or self.commit_offsets is None:
            return False
        return bool(await self.commit_offsets(offsets))

    # -- handing records over --

    def _ready(self) -> bool:
        return any(self._queues.get(tp) for tp in self._expected)

    async def _next_records(self) -> list[InputRecord]:
        """Up to `batch_size` records of open partitions, each partition's in order from
        its expected offset; jumps read from the broker first. Every partition with records
        queued gets an equal share of the batch first: under a backlog no partition waits
        while others fill whole batches (the aligner would wait for it, and its silence
        would end the wait and break the order rule)."""
        taken: dict[TP, list[Any]] = {}
        jumps: list[tuple[TP, int, Run]] = []  # (tp, index in taken[tp], run before it)
        waiting = [tp for tp in self._expected if self._queues.get(tp)]
        budget = self.batch_size
        share = max(budget // max(len(waiting), 1), 1)
        for tp in waiting:
            budget -= self._take_from(tp, min(share, budget), taken, jumps)
        for tp in waiting:  # what the shares left of the batch, in turn
            if budget <= 0:
                break
            budget -= self._take_from(tp, budget, taken, jumps)
        if self._queued < self.max_queued // 2:
            self._room.set()
        if jumps:
            await self._fill(taken, jumps)
        return [record for records in taken.values() for record in records]

    def _take_from(
        self, tp: TP, most: int, taken: dict[TP, list[Any]], jumps: list[tuple[TP, int, Run]]
    ) -> int:
        """Up to `most` records of one partition, in order; returns how many."""
        queue, expected = self._queues[tp], self._expected[tp]
        out = taken.setdefault(tp, [])
        count = 0
        while queue and count < most:
            record = queue.popleft()
            self._queued -= 1
            if expected is not None and record.offset < expected:
                self.counters.repeats += 1
                continue
            if expected is not None and record.offset > expected:
                jumps.append((tp, len(out), Run(tp[0], tp[1], expected, record.offset)))
            out.append(record)
            expected = record.offset + 1
            count += 1
        self._expected[tp] = expected
        return count

    async def _fill(self, taken: dict[TP, list[Any]], jumps: list[tuple[TP, int, Run]]) -> None:
        began = time.monotonic()
        found = await asyncio.to_thread(self.runs.read_many, [run for _tp, _at, run in jumps])
        self.counters.jumps += len(jumps)
        # Splice from the back so earlier indexes stay right.
        for (tp, at, run), records in reversed(list(zip(jumps, found, strict=True))):
            if not records:
                continue  # markers or aborted records: no input
            self.counters.refilled += len(records)
            taken[tp][at:at] = records
            log.error(
                "input_jump_held_records topic=%s partition=%d offsets=%d..%d records=%d "
                "seconds=%.3f",
                run.topic,
                run.partition,
                run.start,
                run.end - 1,
                len(records),
                time.monotonic() - began,
            )
