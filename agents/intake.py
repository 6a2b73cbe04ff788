"""How the member agent takes its input from the Faust stream: in batches, with a pulse, and
never across a rebalance.

Faust's `stream.noack_take(n, within)` yields only when it has events, so an agent that
holds input back (the event-time aligner) would never be asked again at the end of a
backlog. `take_batches` is the same loop, except that it also yields an empty batch every
`within` seconds when nothing came, so the agent can release what it holds however quiet
the topics are.

`Fence` tells whether an event was read in the current assignment. An event read before a
rebalance began is stale: after the rebalance Faust seeks every assigned partition back to
its committed offset and reads it again (`Recovery` -> `Consumer.perform_seek`), or another
worker now owns the partition. The agent drops stale events without acknowledging them, and
a batch that a rebalance overtook while it was being applied writes nothing to the table and
acknowledges nothing. Without the fence, events left in the take buffer when a rebalance
began came out after it: records of partitions that had moved away were applied by two
workers, and later offsets of a kept partition were applied before the earlier ones read
again, which the member record's applied offsets then skipped (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any


class Fence:
    """Which consumer generation is current, including while a rebalance is under way.

    Each message carries the consumer generation it was fetched in (Faust sets
    `message.generation_id`). A rebalance begins with aiokafka's listener calling
    `app.on_rebalance_start()` synchronously, before any partition is revoked, and the new
    generation is known only at assignment; the fence wraps that call to note the
    generation the rebalance is leaving, so events of that generation are stale from its
    very first moment.
    """

    def __init__(self, app: Any, inputs: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.inputs = inputs  # input topics: only the agent's own acks count (`acks`)
        self.leaving: int | None = None  # the generation the rebalance under way leaves
        self.rebalances = 0
        self.closed = False  # the worker is shutting down: nothing is current any more
        self._acking = False
        start = app.on_rebalance_start

        def on_rebalance_start() -> None:
            self.leaving = app.consumer_generation_id
            self.rebalances += 1
            start()

        app.on_rebalance_start = on_rebalance_start

    def close(self) -> None:
        self.closed = True

    def current(self, event: Any) -> bool:
        return self.current_message(event.message)

    def current_message(self, message: Any) -> bool:
        if self.closed:
            return False
        generation = message.generation_id
        if generation != self.app.consumer_generation_id:
            return False
        return not (self.app.rebalancing and generation == self.leaving)

    def all_current(self, events: list[Any]) -> bool:
        return all(self.current(event) for event in events)

    @contextmanager
    def acks(self) -> Iterator[None]:
        """The agent acknowledges the inputs it applied inside this block; an input
        acknowledged anywhere else (Faust's stream acks the events it skips) does not count
        towards a commit."""
        self._acking = True
        try:
            yield
        finally:
            self._acking = False

    def counts(self, message: Any) -> bool:
        """Whether an acknowledgement of `message` may move its partition's commit."""
        if not self.current_message(message):
            return False
        return self._acking or message.topic not in self.inputs


class IntakeCounters:
    """What went through `take_batches`, for the worker's health line."""

    def __init__(self) -> None:
        self.taken = 0  # events put in the buffer
        self.yields = 0  # batches handed to the agent, empty ones included
        self.waiting = False  # the stream processor waits for the agent to consume a batch
        self.fill_seconds = 0.0  # the agent waited for a batch to fill
        self.cut_caught_up = 0  # batches handed over because they held all there was
        self.cut_full = 0  # ... because they held `max_` events


CATCH_UP_CHECK = 0.002  # seconds between checks whether a batch holds all the input there is


async def take_batches(
    stream: Any,
    max_: int,
    within: float,
    counters: IntakeCounters | None = None,
    caught_up: Callable[[Mapping[tuple[str, int], int]], bool] | None = None,
) -> AsyncIterator[list[Any]]:
    """Batches of up to `max_` events; an empty batch after `within` seconds of quiet.

    A batch is handed over when it holds `max_` events, when `within` seconds have passed,
    or as soon as it holds events and `caught_up(delivered)` says the partitions hold
    nothing beyond what was delivered (`delivered`: (topic, partition) -> the last offset
    put in a batch): waiting longer would only add latency. Under a backlog the check
    fails, and a batch fills for `within` (or to `max_`), as a larger batch costs less per
    event.

    Events are not acknowledged here (the agent acks them once committed). Modeled on
    faust-streaming 0.15's `Stream.noack_take`: a stream processor fills the buffer, and
    it waits while the agent works on a batch, so a batch never grows past `max_`.
    """
    counters = counters or IntakeCounters()
    buffer: list[Any] = []
    delivered: dict[tuple[str, int], int] = {}
    full = asyncio.Event()
    arrived = asyncio.Event()  # an event was added to the buffer
    consumed = asyncio.Event()
    consuming: asyncio.Future[None] | None = None

    async def add_to_buffer(value: Any) -> Any:
        nonlocal consuming
        if consuming is not None:
            counters.waiting = True
            try:
                await consuming
            finally:
                consuming = None
                counters.waiting = False
        event = stream.current_event
        if event is None:
            raise RuntimeError("take_batches: a stream value without its event")
        buffer.append(event)
        counters.taken += 1
        if caught_up is not None:  # only the early hand-over reads these
            message = event.message
            delivered[(message.topic, message.partition)] = message.offset
            arrived.set()
        if len(buffer) >= max_:
            full.set()
            consumed.clear()
            await stream.wait(consumed)
        return value

    async def fill(deadline: float) -> None:
        """Wait until the batch is full, `deadline` passes, or it holds all there is."""
        loop = asyncio.get_running_loop()
        while not full.is_set() and not stream.should_stop:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            if caught_up is None:
                await stream.wait_for_stopped(full, timeout=remaining)
            elif not buffer:  # wait for a first event (no polling while idle)
                arrived.clear()
                await stream.wait_for_stopped(arrived, timeout=remaining)
            else:
                await stream.wait_for_stopped(full, timeout=min(CATCH_UP_CHECK, remaining))
                if caught_up(delivered):
                    counters.cut_caught_up += 1
                    return

    acks_before = stream.enable_acks
    stream.enable_acks = False
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))
    try:
        loop = asyncio.get_running_loop()
        while not stream.should_stop:
            began = loop.time()
            await fill(began + within)
            counters.fill_seconds += loop.time() - began
            counters.cut_full += full.is_set()
            consuming = asyncio.get_running_loop().create_future()
            counters.yields += 1
            try:
                yield list(buffer)
            finally:
                buffer.clear()
                if consuming is not None and not consuming.done():
                    consuming.set_result(None)
                full.clear()
                consumed.set()
    finally:
        stream.enable_acks = acks_before
        stream._processors.remove(add_to_buffer)


def fence_acks() -> None:
    """Make Faust's consumer ignore the acknowledgement of a message the app's fence
    (`app.tierflow_fence`) calls stale.

    Faust's stream acknowledges, without processing them, the messages it skips because
    their generation is over (faust/streams.py, `_py_aiter`), and between a revoke and the
    seek that ends a rebalance the consumer knows no committed offset for the partition, so
    its commit timer commits the first run of acknowledged offsets it holds. Together they
    committed offsets past input that was never applied (seen: a receipt's points missing
    from the member's balance after a rebalance, although its ledger entry went out). With
    this, only input read in the current assignment counts towards a commit; the rest is
    read again from the committed offset.

    Faust's stream also skips, and acknowledges, events of the current generation that
    reach it while flow control is off (the moments around an assignment). So an input
    topic's acknowledgement counts only when the agent gives it, inside `Fence.acks`, for
    input it applied.

    Faust's fetch loop, for its part, records as a "gap" (committed as if acknowledged)
    every run of offsets its read offset jumps over, including records it dropped itself
    after a seek; merged into the acknowledgements, a gap also duplicates offsets already
    there, and Faust's commit then moves one run at a time (seen: a restarted worker whose
    committed offsets crawled 5 offsets per commit). For input topics the agent, which
    reads every skipped run from the broker (agents/refill.py), names the offsets that hold
    no record instead (`mark_absent`).
    """
    from faust.transport.consumer import Consumer

    original = Consumer.ack
    if getattr(original, "tierflow_fenced", False):
        return

    def ack(self: Any, message: Any) -> bool:
        fence = getattr(self.app, "tierflow_fence", None)
        if fence is not None and not fence.counts(message):
            self._unacked_messages.discard(message)  # no longer tracked: read again
            return False
        return bool(original(self, message))

    async def add_gap(self: Any, tp: Any, offset_from: int, offset_to: int) -> None:
        fence = getattr(self.app, "tierflow_fence", None)
        if fence is not None and tp.topic in fence.inputs:
            return  # the agent says which input offsets hold no record (`mark_absent`)
        await original_add_gap(self, tp, offset_from, offset_to)

    original_add_gap = Consumer._add_gap
    ack.tierflow_fenced = True  # type: ignore[attr-defined]
    Consumer.ack = ack  # type: ignore[method-assign]
    Consumer._add_gap = add_gap  # type: ignore[method-assign]


def mark_absent(consumer: Any, tp: Any, offsets: list[int]) -> None:
    """Tell Faust's consumer that these offsets of an input partition hold no record
    (transaction markers, aborted transactions), so its commits may pass them."""
    if not offsets:
        return
    gaps = consumer._gap[tp]
    for offset in offsets:
        gaps.addi(offset, offset + 1)  # intervals exclude their end
    gaps.merge_overlaps(strict=False)  # adjacent offsets become one interval
