"""The member worker: the one loop that changes members' state, top to bottom.

For each batch of input records (agents/worker/ports.py, `InputSource.batches`):
1. a new epoch (a rebalance) drops what was held from the old one;
2. the aligner releases the records due, in the order rule (agents/worker/alignment.py);
3. the use case applies them (agents/usecase: decode, check, rules, outputs, dead letters);
4. the checkpoint commits the result (agents/worker/checkpoint.py).
It receives everything it needs from the composition (streams/app.py); nothing here knows
Faust or Kafka.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agents.rules.program import Program
from agents.usecase import (
    RECEIPTS,
    REVIEW_TICKS,
    BatchResult,
    InputMessage,
    MemberBatch,
    MemberRecord,
    ReviewIndex,
    partition_of,
)
from agents.usecase.member_record import next_review_of
from agents.worker.alignment import EventTimeAligner
from agents.worker.checkpoint import Checkpoint
from agents.worker.ports import InputBatch, InputRecord, InputSource, MemberTable
from agents.worker.stats import WorkerStats
from schemas.codec import Codec
from schemas.errors import CodecError

log = logging.getLogger("tierflow.worker")

STATS_EVERY = 10.0  # seconds between the worker's stats lines


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """What the worker is told by the composition (streams/app.py), as plain values."""

    program: Program
    codec: Codec
    kinds: Mapping[str, str]  # input topic -> kind
    topic_names: Mapping[str, str]  # contract name -> topic, for dead letters' source topics
    partitions: int
    batch_size: int = 5_000  # records per checkpoint, at most


class MemberWorker:
    def __init__(
        self,
        config: WorkerConfig,
        inputs: InputSource,
        table: MemberTable,
        aligner: EventTimeAligner,
        checkpoint: Checkpoint,
    ) -> None:
        self.config = config
        self.inputs = inputs
        self.table = table
        self.aligner = aligner
        self.checkpoint = checkpoint
        self.index = ReviewIndex()
        self.stats = WorkerStats()
        self.epoch = -1
        self._stopping = False

    async def run(self) -> None:
        async for batch in self.inputs.batches():
            await self.step(batch)
            self.stats.last_turn = time.monotonic()
            self._log_stats()
            if self._stopping:
                return

    def stop(self) -> None:
        self._stopping = True

    async def step(self, batch: InputBatch) -> None:
        """One batch: align, then apply and commit what is released, `batch_size` records
        at a time (a hold can release many); a pulse commits the offsets waiting."""
        if batch.epoch != self.epoch:
            self._new_epoch(batch.epoch)
        self.aligner.add(batch.records)
        records = self.aligner.release()
        if not records:
            await self.checkpoint.flush(batch.epoch)
        size = self.config.batch_size
        for first in range(0, len(records), size):
            await self._apply_and_commit(records[first : first + size], batch.epoch)

    async def _apply_and_commit(self, records: Sequence[InputRecord], epoch: int) -> None:
        messages = [self._message(record) for record in records]
        self._build_index(messages)
        started = time.perf_counter()
        result = await self._apply(messages)
        applied = time.perf_counter()
        self.stats.apply_seconds += applied - started
        if not await self.checkpoint.commit(result, next_offsets(records), epoch):
            return
        done = time.perf_counter()
        stats = self.stats
        stats.count(len(messages), result)
        stats.batch_seconds.observe(done - started)
        # A receipt's record timestamp is its business time (agents/usecase/order.py).
        now_ms, observe = time.time() * 1000, stats.end_to_end_seconds.observe
        for message in messages:
            if message.kind == RECEIPTS:
                observe(max(now_ms - message.timestamp, 0.0) / 1000)

    def _new_epoch(self, epoch: int) -> None:
        """A new assignment: what is held is read again, indexes are rebuilt."""
        self.epoch = epoch
        self.stats.epochs += 1
        self.stats.dropped_held += self.aligner.forget_all()
        self.index = ReviewIndex()

    def _message(self, record: InputRecord) -> InputMessage:
        return InputMessage(
            self.config.kinds[record.topic],
            record.topic,
            record.partition,
            record.offset,
            record.timestamp,
            record.key,
            record.value,
        )

    def _build_index(self, messages: Sequence[InputMessage]) -> None:
        """Before the first tick of a partition in this epoch: its members' next review
        dates, from the stored records (no state decoded), in one pass for all such
        partitions."""
        partitions = {
            m.partition for m in messages if m.kind == REVIEW_TICKS
        } - self.index.built_partitions()
        if not partitions:
            return
        started = time.monotonic()
        for key, raw in self.table.items():
            partition = partition_of(bytes(key), self.config.partitions)
            if partition in partitions:
                self.index.set_due(partition, bytes(key).decode(), next_review_of(bytes(raw)))
        for partition in partitions:
            self.index.mark_built(partition)
        log.info(
            "review_index_built partitions=%s members=%d seconds=%.3f",
            ",".join(map(str, sorted(partitions))),
            len(self.index),
            time.monotonic() - started,
        )

    async def _apply(self, messages: Sequence[InputMessage]) -> BatchResult:
        """The use case over the batch; run again while the schema registry is unreachable
        (the inputs are fine: they must not become dead letters). Nothing is stored before
        the checkpoint, so a retry starts from the same member records."""
        wait = 0.5
        while True:
            batch = MemberBatch(
                self.config.program,
                self.config.codec,
                self.index,
                self._load,
                self.config.topic_names,
                self.config.partitions,
            )
            try:
                return batch.apply_all(messages)
            except CodecError as error:
                if not error.retriable:
                    raise
                log.warning("schema_registry_unavailable retry_in_s=%.1f error=%s", wait, error)
                await asyncio.sleep(wait)
                wait = min(wait * 2, 30.0)

    def _load(self, member_id: str) -> MemberRecord | None:
        raw = self.table.get(member_id)
        return MemberRecord.from_bytes(raw) if raw is not None else None

    def _log_stats(self) -> None:
        stats = self.stats
        now = time.monotonic()
        if now - stats.logged_at < STATS_EVERY:
            return
        rate = (stats.inputs - stats.logged_inputs) / (now - stats.logged_at)
        log.info(
            "member_worker batches=%d inputs=%d applied=%d skipped_repeats=%d reviews=%d "
            "dead_letters=%d held=%d epochs=%d dropped_held=%d abandoned_batches=%d "
            "commits=%d rate_per_s=%.0f apply_s=%.1f commit_s=%.1f",
            stats.batches,
            stats.inputs,
            stats.applied,
            stats.skipped_repeats,
            stats.reviews,
            sum(stats.dead_letters.values()),
            self.aligner.held(),
            stats.epochs,
            stats.dropped_held,
            self.checkpoint.abandoned,
            self.checkpoint.commits,
            rate,
            stats.apply_seconds,
            self.checkpoint.commit_seconds,
        )
        stats.logged_at, stats.logged_inputs = now, stats.inputs


def next_offsets(records: Sequence[InputRecord]) -> dict[tuple[str, int], int]:
    """Per topic partition, the offset after the last record applied: what to commit."""
    offsets: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic, record.partition)
        if record.offset >= offsets.get(key, 0):
            offsets[key] = record.offset + 1
    return offsets
