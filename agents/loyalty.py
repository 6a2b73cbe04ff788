"""The member agent: the one code path that changes a member's state.

It consumes receipts, member events and review ticks (co-partitioned, key = member_id) in
batches, applies them with the rules core through `MemberBatch`, and commits each batch
through `Checkpoint`. Decoding happens here, on raw bytes, so no input can crash it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agents.alignment import MARKER_SLACK, EventTimeAligner, Lag
from agents.checkpoint import Checkpoint
from agents.contiguity import ContiguityWatch
from agents.gaps import GapWatch
from agents.health import log_health
from agents.intake import Fence, IntakeCounters, mark_absent, take_batches
from agents.member_batch import (
    MEMBER_EVENTS,
    RECEIPTS,
    REVIEW_TICKS,
    BatchResult,
    InputMessage,
    MemberBatch,
    OutgoingMessage,
    partition_of,
)
from agents.member_record import MemberRecord, next_review_of
from agents.refill import Refilled, Run, RunReader, read_runs
from agents.review_index import ReviewIndex
from agents.rules.program import Program
from agents.tail import TailWatch, fetch_position
from streams.settings import Settings

log = logging.getLogger("tierflow.agents.loyalty")

STATS_EVERY = 10.0  # seconds between throughput log lines
HEALTH_EVERY = 10.0  # seconds between health lines (agents/health.py)
GAP_CHECK_EVERY = 5.0  # seconds between checks for input offsets lost before their ack


@dataclass(slots=True)
class MemberBook:
    """What the agent keeps in memory besides the table: the review index and counters."""

    index: ReviewIndex = field(default_factory=ReviewIndex)
    batches: int = 0
    inputs: int = 0
    applied: int = 0
    skipped_repeats: int = 0
    dead_letters: int = 0
    reviews: int = 0
    stale: int = 0  # inputs read before a rebalance, dropped to be read again
    abandoned_batches: int = 0  # batches a rebalance overtook (nothing written, nothing acked)
    apply_seconds: float = 0.0  # decoding and the rules
    commit_seconds: float = 0.0  # sending outputs, waiting for acks, table writes
    _last_log: float = 0.0
    _last_inputs: int = 0

    def count(self, size: int, batch: Any, held: int) -> None:
        self.batches += 1
        self.inputs += size
        self.applied += batch.applied
        self.skipped_repeats += batch.skipped_repeats
        self.dead_letters += batch.dead_letters
        self.reviews += batch.reviews
        now = time.monotonic()
        if now - self._last_log >= STATS_EVERY:
            rate = (self.inputs - self._last_inputs) / max(now - self._last_log, 1e-9)
            log.info(
                "member_agent batches=%d inputs=%d applied=%d skipped_repeats=%d "
                "dead_letters=%d reviews=%d stale=%d abandoned_batches=%d held=%d "
                "rate_per_s=%.0f indexed_members=%d apply_s=%.1f commit_s=%.1f",
                self.batches,
                self.inputs,
                self.applied,
                self.skipped_repeats,
                self.dead_letters,
                self.reviews,
                self.stale,
                self.abandoned_batches,
                held,
                rate if self._last_log else 0.0,
                len(self.index),
                self.apply_seconds,
                self.commit_seconds,
            )
            self._last_log, self._last_inputs = now, self.inputs


async def seek(consumer: Any, tp: Any, offset: int) -> None:
    """Move an input partition's fetch position back to `offset`, in Faust's consumer
    thread, where aiokafka runs. Faust's own `Consumer.seek` calls aiokafka's `seek` from
    the agent's thread (faust/transport/consumer.py, `ThreadDelegateConsumer._seek`), whose
    fetcher wake-up is not thread-safe: seen here as a seek after which the partition's
    records never came. Faust's `perform_seek` goes through `call_thread`; so does this."""
    thread = consumer._thread

    async def seek_there() -> None:
        thread._ensure_consumer().seek(tp, offset)

    await thread.call_thread(seek_there)
    consumer._read_offset[tp] = offset


def input_lag(app: Any) -> Lag:
    """How far the broker is ahead of the last record delivered, from the consumer's
    high-water marks (None until the consumer has fetched the partition)."""
    from faust.types import TP

    def lag(topic: str, partition: int, offset: int) -> int | None:
        tp = TP(topic, partition)
        try:
            highwater = app.consumer.highwater(tp)
        except Exception:  # no consumer yet, or the partition is not assigned here
            return None
        if highwater is None:
            return None
        if offset < 0:
            # Nothing delivered since the assignment: reading starts at the committed offset
            # (Faust's own record of it). Unknown, it is unknown (the aligner then holds
            # nothing back for it), rather than the whole partition counted as a backlog.
            committed = app.consumer._committed_offset.get(tp)
            return None if committed is None else int(highwater) - int(committed)
        return int(highwater) - (offset + 1)

    return lag


def inputs_caught_up(app: Any) -> Callable[[Mapping[tuple[str, int], int]], bool]:
    """Whether every assigned input partition holds nothing beyond what was delivered
    (by the consumer's high-water marks), for `take_batches`. Unknown counts as behind."""

    def caught_up(delivered: Mapping[tuple[str, int], int]) -> bool:
        consumer = app.consumer
        try:
            assigned = consumer.assignment()
        except Exception:  # no consumer yet
            return False
        fence = app.tierflow_fence
        for tp in assigned:
            if tp.topic not in fence.inputs:
                continue
            try:
                highwater = consumer.highwater(tp)
            except Exception:  # a rebalance took the partition away meanwhile
                return False
            if highwater is None:
                return False
            last = delivered.get((tp.topic, tp.partition))
            if last is None:  # nothing delivered here yet: behind unless it is all committed
                last = (consumer._committed_offset.get(tp) or 0) - 1
            # A transaction's commit marker takes an offset but is never delivered.
            if highwater - (last + 1) > MARKER_SLACK:
                return False
        return True

    return caught_up


async def apply_with_retry(
    new_batch: Callable[[], MemberBatch],
    messages: list[InputMessage],
    first_wait: float = 0.5,
) -> BatchResult:
    """Run a batch again while the schema registry is unreachable (a transient error: the
    inputs are fine, so they must not become dead letters). Nothing is written before the
    batch's checkpoint, so a fresh batch starts again from the same member records."""
    from schemas.errors import CodecError

    wait = first_wait
    while True:
        try:
            return new_batch().apply_all(messages)
        except CodecError as error:
            if not error.retriable:
                raise
            log.warning("schema_registry_unavailable retry_in_s=%.1f error=%s", wait, error)
            await asyncio.sleep(wait)
            wait = min(wait * 2, 30.0)


def register_member_agent(
    app: Any, settings: Settings, program: Program, topics: Any, table: Any
) -> MemberBook:
    from schemas.codec import Codec

    codec = Codec(schema_registry_url=settings.schema_registry_url)
    book = MemberBook()
    topic_names = {name: settings.topic(name) for name in topics.by_name}
    kind_of_topic = {
        settings.topic("receipts"): RECEIPTS,
        settings.topic("member_events"): MEMBER_EVENTS,
        settings.topic("review_ticks"): REVIEW_TICKS,
    }
    checkpoint = Checkpoint(app, table, topic_names, settings.partitions)
    snapshots = member_snapshots(codec, program, topic_names)
    fence = Fence(app, frozenset(kind_of_topic))
    app.tierflow_fence = fence  # Faust's consumer consults it before counting an ack
    gaps = GapWatch()
    tails = TailWatch()
    contiguity = ContiguityWatch()
    runs = RunReader(settings.kafka_client_config() | {"group.id": f"{app.conf.id}-refill"})
    intake = IntakeCounters()
    aligner = EventTimeAligner(
        topics=tuple(settings.topic(name) for name in (RECEIPTS, MEMBER_EVENTS, REVIEW_TICKS)),
        lag=input_lag(app),
    )

    def load(member_id: str) -> MemberRecord | None:
        raw = table.get(member_id.encode())
        return MemberRecord.from_bytes(raw) if raw is not None else None

    def build_index(partition: int) -> None:
        """Rebuild a partition's review index from the table (once per assignment)."""
        started = time.monotonic()
        for key, raw in table.items():
            if partition_of(key, settings.partitions) == partition:
                book.index.set_due(partition, key.decode(), next_review_of(raw))
        book.index.mark_built(partition)
        log.info(
            "review_index_built partition=%d members=%d seconds=%.3f",
            partition,
            len(book.index),
            time.monotonic() - started,
        )

    # mode's signals call receivers with (sender, partitions) and await those that are
    # coroutines. A newly assigned partition's table is recovered from the changelog
    # first, so its index is rebuilt at its first tick.
    @app.on_partitions_revoked.connect
    async def forget_revoked(sender: Any, revoked: Any, **kwargs: Any) -> None:
        book.index.forget({tp.partition for tp in revoked})
        # The fence is closed since the rebalance began (agents/intake.py); a batch that
        # passed it before is finishing its member writes: they reach the broker before the
        # partitions can move (agents/checkpoint.py, `quiesce`).
        await checkpoint.quiesce()
        await app.producer.flush()

    @app.on_before_shutdown.connect
    async def close_fence(sender: Any, **kwargs: Any) -> None:
        # Faust flushes the producer right after this and leaves the group later: no batch
        # may write member records after the flush.
        fence.close()
        await checkpoint.quiesce()
        await asyncio.to_thread(runs.close)

    @app.on_partitions_assigned.connect
    def forget_assigned(sender: Any, assigned: Any, **kwargs: Any) -> None:
        book.index.forget({tp.partition for tp in assigned})

    @app.agent(topics.inputs, name="tierflow.members")
    async def members(stream: Any) -> None:
        # Events are acknowledged only once applied and committed: the aligner may hold
        # some back across batches (agents/alignment.py), and those must not be committed.
        # Input read before a rebalance is never applied after it (agents/intake.py): what
        # the aligner holds is dropped, and the partitions are read again from their
        # committed offsets.
        from faust.types import TP

        rebalances = fence.rebalances
        caught_up = inputs_caught_up(app) if settings.batch_when_caught_up else None
        batches = take_batches(
            stream, settings.batch_size, settings.batch_within, intake, caught_up
        )
        async for taken in batches:
            if fence.rebalances != rebalances:
                rebalances = fence.rebalances
                book.stale += len(aligner.forget_all())
                contiguity.reset()
            jumps: list[tuple[int, Run]] = []  # (the offset that jumped, the run before it)
            for event in taken:
                if not fence.current(event):
                    book.stale += 1
                    continue
                message = event.message
                tp = TP(message.topic, message.partition)
                committed = None
                if not contiguity.follows(tp):  # the partition's first record here
                    committed = app.consumer._committed_offset.get(tp)
                    if committed is None and message.offset > 0:
                        # Faust knows no committed offset yet (it learns it at its seek,
                        # after recovery, and records may come before): the group's.
                        committed = await asyncio.to_thread(
                            runs.start_of, message.topic, message.partition, app.conf.id
                        )
                missing = contiguity.observe(tp, message.offset, committed)
                if missing:
                    run = Run(message.topic, message.partition, message.generation_id, missing)
                    jumps.append((message.offset, run))
                align(event)
            if jumps:
                await fill(jumps)
            events = aligner.release() if aligner.held() else []
            if events:
                await apply_events(stream, events)

    def align(event: Any) -> None:
        message = event.message
        stamp = int((message.timestamp or 0) * 1000)
        aligner.add(message.topic, message.partition, message.offset, stamp, event)

    async def fill(jumps: list[tuple[int, Run]]) -> None:
        """Offsets never delivered before a record of the batch: read from the broker, all
        runs at once (agents/refill.py); their records join the aligner, which releases a
        partition's records in offset order, so they are applied before the record that
        jumped. A run that held records is logged: Faust dropped them."""
        from faust.types import TP

        began = time.monotonic()
        answers = await read_runs(runs, [run for _offset, run in jumps])
        for (offset, run), (found, absent) in zip(jumps, answers, strict=True):
            tp = TP(run.topic, run.partition)
            if found:
                log_run_read("input_skipped", tp, offset, run.missing, found, began)
            put_back(tp, found, absent)

    def put_back(tp: Any, found: list[Refilled], absent: list[int]) -> None:
        """Records read from the broker go to the aligner in offset order, ahead of
        anything later of their partition; Faust's consumer learns which offsets hold no
        record, so its commits can pass them."""
        for refilled in found:
            align(refilled)
        mark_absent(app.consumer, tp, absent)

    def log_run_read(
        line: str, tp: Any, offset: int, missing: range, found: list[Refilled], began: float
    ) -> None:
        log.warning(
            "%s topic=%s partition=%d offset=%d never_delivered=%d read_from_broker=%d "
            "seconds=%.3f",
            line,
            tp.topic,
            tp.partition,
            offset,
            len(missing),
            len(found),
            time.monotonic() - began,
        )

    @app.timer(GAP_CHECK_EVERY, name="tierflow.input_gaps")
    async def read_lost_offsets_again() -> None:
        """Read a run Faust dropped at the tail of an input partition from the broker
        (agents/tail.py); seek a partition back to its committed offset when offsets below
        its acknowledged ones went missing (agents/gaps.py)."""
        from faust.types import TP

        consumer = app.consumer
        if app.rebalancing or fence.closed:
            return
        try:
            assigned = [tp for tp in consumer.assignment() if tp.topic in kind_of_topic]
        except Exception:  # the consumer is not started yet
            return
        for tp in assigned:
            tp = TP(tp.topic, tp.partition)
            dropped = tails.dropped(tp, next_expected(tp), fetch_position(consumer, tp))
            if dropped:
                await read_dropped_tail(tp, dropped)
                continue
            committed = consumer._committed_offset.get(tp)
            if not gaps.lost(tp, committed, consumer._acked.get(tp) or ()):
                continue
            acked = consumer._acked.get(tp) or [committed]
            log.warning(
                "input_gap_read_again topic=%s partition=%d committed=%s lowest_acked=%d "
                "missing=%d",
                tp.topic,
                tp.partition,
                committed,
                min(acked),
                min(acked) - committed,
            )
            await seek(consumer, tp, committed)
            contiguity.rewind(tp, committed)
            gaps.repaired(tp)

    def next_expected(tp: Any) -> int | None:
        """The offset the agent expects next on `tp`: after the last one it saw, or the
        committed offset when it has seen none since the assignment."""
        expected = contiguity.expected(tp)
        return expected if expected is not None else app.consumer._committed_offset.get(tp)

    async def read_dropped_tail(tp: Any, dropped: range) -> None:
        """A run Faust took from aiokafka and never delivered, with nothing after it to show
        the jump (agents/tail.py): read from the broker and applied like a skipped run (a
        run of transaction markers only is just passed)."""
        began = time.monotonic()
        generation = app.consumer_generation_id
        [(found, absent)] = await read_runs(
            runs, [Run(tp.topic, tp.partition, generation, dropped)]
        )
        if app.consumer_generation_id != generation or next_expected(tp) != dropped.start:
            return  # a rebalance or new input came meanwhile: the watch looks again
        if found:
            log_run_read("input_tail_dropped", tp, dropped.start, dropped, found, began)
        put_back(tp, found, absent)
        contiguity.rewind(tp, dropped.stop)
        tails.repaired(tp, records=len(found))

    @app.timer(HEALTH_EVERY, name="tierflow.worker_health")
    async def health() -> None:
        try:
            log_health(
                app, set(kind_of_topic), intake, aligner, book, gaps, contiguity, runs, tails
            )
        except Exception:  # a diagnostic must never stop the worker
            log.exception("worker_health_failed")

    async def apply_events(stream: Any, events: list[Any]) -> None:
        messages = [
            InputMessage(
                kind=kind_of_topic[event.message.topic],
                topic=event.message.topic,
                partition=event.message.partition,
                offset=event.message.offset,
                key=event.message.key,
                value=event.message.value,
            )
            for event in events
        ]
        for partition in {m.partition for m in messages if m.kind == REVIEW_TICKS}:
            if not book.index.is_built(partition):
                build_index(partition)
        started = time.perf_counter()
        batch = await apply_with_retry(
            lambda: MemberBatch(program, codec, book.index, load, topic_names, settings.partitions),
            messages,
        )
        if snapshots is not None:
            batch.outgoing.extend(snapshots(batch))
        applied = time.perf_counter()
        if not await checkpoint.commit(batch, lambda: fence.all_current(events)):
            # A rebalance began while the batch was applied: its outputs went out (stable
            # ids), its member records and acks do not; the inputs are read again.
            book.abandoned_batches += 1
            log.info("batch_abandoned_by_rebalance inputs=%d", len(events))
            return
        with fence.acks():
            for event in events:
                if isinstance(event, Refilled):
                    app.consumer.ack(event.message)
                else:
                    await stream.ack(event)
        book.apply_seconds += applied - started
        book.commit_seconds += time.perf_counter() - applied
        book.count(len(messages), batch, aligner.held())

    return book


def member_snapshots(codec: Any, program: Program, topic_names: dict[str, str]) -> Any:
    """The compacted `members` topic: one snapshot per touched member per batch (its last
    state), viewed as of the local date of its last change or a later date the state
    already reflects (`snapshot_date`), so a replay gives the same."""
    if "members" not in topic_names:
        return None
    from agents.rules import member_view, snapshot_date
    from schemas.records import MemberSnapshot

    def snapshots(batch: BatchResult) -> list[OutgoingMessage]:
        messages = []
        for member_id, (partition, record) in batch.records.items():
            changed_at = batch.changed_at.get(member_id)
            # A first event refused (unknown member, auto-enroll off) leaves no member.
            if record.state is None or not record.state.is_member or changed_at is None:
                continue
            as_of = snapshot_date(record.state, program.local(changed_at).date())
            view = member_view(record.state, program, as_of)
            value = codec.encode(MemberSnapshot(view, changed_at))
            messages.append(OutgoingMessage("members", member_id.encode(), value, partition))
        return messages

    return snapshots
