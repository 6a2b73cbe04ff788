"""The agent's intake: batches with a pulse, and the fence that keeps input read before a
rebalance out of the member table (agents/intake.py)."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any

from agents.intake import Fence, take_batches


class FakeStream:
    """The part of a Faust stream `take_batches` uses; `deliver` runs its processors as
    Faust's stream does for each value read from the channel."""

    def __init__(self) -> None:
        self._processors: list[Any] = []
        self.enable_acks = True
        self.should_stop = False
        self.current_event: Any = None
        self.channel = self
        self.passive = False

    def __aiter__(self) -> FakeStream:
        return self

    async def __anext__(self) -> Any:
        raise StopAsyncIteration

    def add_processor(self, processor: Any) -> None:
        self._processors.append(processor)

    def _enable_passive(self, channel: Any) -> None:
        self.passive = True

    async def wait(self, event: asyncio.Event) -> None:
        await event.wait()

    async def wait_for_stopped(self, event: asyncio.Event, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        return False

    async def deliver(self, value: Any, partition: int = 0, offset: int | None = None) -> None:
        offset = value if offset is None else offset
        message = SimpleNamespace(topic="receipts", partition=partition, offset=offset)
        self.current_event = SimpleNamespace(value=value, message=message)
        for processor in list(self._processors):
            await processor(value)


def test_a_quiet_stream_still_yields_empty_batches() -> None:
    async def run() -> list[list[Any]]:
        stream = FakeStream()
        batches = []
        async for batch in take_batches(stream, 10, 0.01):
            batches.append(batch)
            if len(batches) == 3:
                break
        return batches

    assert asyncio.run(run()) == [[], [], []]


def test_batches_hold_at_most_max_events_and_the_stream_waits_for_the_agent() -> None:
    async def run() -> tuple[list[list[int]], FakeStream]:
        stream = FakeStream()
        batches: list[list[int]] = []

        async def agent() -> None:
            async for batch in take_batches(stream, 3, 0.05):
                batches.append([event.value for event in batch])
                if sum(len(b) for b in batches) >= 5:
                    break

        task = asyncio.create_task(agent())
        await asyncio.sleep(0.01)
        assert stream.passive and stream.enable_acks is False
        for value in range(5):
            await stream.deliver(value)
        await asyncio.wait_for(task, 5)
        return [b for b in batches if b], stream

    batches, stream = asyncio.run(run())
    assert batches == [[0, 1, 2], [3, 4]]
    assert stream._processors == [] and stream.enable_acks is True


def _first_batch_after(caught_up: Any, within: float) -> tuple[list[int], float, list[Any]]:
    """Deliver 3 events and time the first non-empty batch; `seen` collects what
    `caught_up` was shown."""

    async def run() -> tuple[list[int], float, list[Any]]:
        stream = FakeStream()
        seen: list[Any] = []

        def check(delivered: Any) -> bool:
            seen.append(dict(delivered))
            return bool(caught_up(delivered))

        async def agent() -> tuple[list[int], float]:
            async for batch in take_batches(stream, 100, within, caught_up=check):
                if batch:
                    return [event.value for event in batch], loop.time()
            raise AssertionError("no batch")

        loop = asyncio.get_running_loop()
        task = asyncio.create_task(agent())
        await asyncio.sleep(0.01)
        started = loop.time()
        for value in (7, 8, 9):
            await stream.deliver(value, partition=value % 2)
        values, at = await asyncio.wait_for(task, 10)
        return values, at - started, seen

    return asyncio.run(run())


def test_a_batch_that_holds_all_there_is_goes_at_once() -> None:
    values, waited, seen = _first_batch_after(lambda delivered: True, within=5.0)
    assert values == [7, 8, 9]
    assert waited < 1.0  # not the 5 s of `within`
    assert seen[-1] == {("receipts", 1): 9, ("receipts", 0): 8}  # last offset per partition


def test_a_batch_with_input_still_behind_fills_for_within() -> None:
    values, waited, seen = _first_batch_after(lambda delivered: False, within=0.3)
    assert values == [7, 8, 9]
    assert waited >= 0.25
    assert len(seen) > 10  # checked again every few milliseconds meanwhile


def _consumer_app(highwaters: dict[Any, int | None], committed: dict[Any, int]) -> Any:
    from faust.types import TP

    consumer = SimpleNamespace(
        assignment=lambda: set(highwaters),
        highwater=lambda tp: highwaters[tp],
        _committed_offset=committed,
    )
    fence = SimpleNamespace(inputs=frozenset({"receipts", "member_events"}))
    assert all(isinstance(tp, TP) for tp in highwaters)
    return SimpleNamespace(consumer=consumer, tierflow_fence=fence)


def test_inputs_are_caught_up_when_no_partition_holds_more_than_was_delivered() -> None:
    from faust.types import TP

    from agents.loyalty import inputs_caught_up

    receipts0, receipts1 = TP("receipts", 0), TP("receipts", 1)
    events0, changelog0 = TP("member_events", 0), TP("members-changelog", 0)
    highwaters = {receipts0: 10, receipts1: 5, events0: 4, changelog0: 999}
    committed = {events0: 4}  # nothing delivered from it: all of it is committed
    caught_up = inputs_caught_up(_consumer_app(highwaters, committed))
    assert caught_up({("receipts", 0): 9, ("receipts", 1): 4})  # the changelog is no input
    assert not caught_up({("receipts", 0): 6, ("receipts", 1): 4})  # 3 records behind
    # Up to two offsets may be transaction markers, never delivered.
    assert caught_up({("receipts", 0): 7, ("receipts", 1): 4})
    # A partition with nothing delivered and more than its committed offset is behind.
    assert not inputs_caught_up(_consumer_app(highwaters, {events0: 0}))(
        {("receipts", 0): 9, ("receipts", 1): 4}
    )
    # A high-water mark not known yet counts as behind.
    highwaters[receipts1] = None
    assert not caught_up({("receipts", 0): 9, ("receipts", 1): 4})


def _app(generation: int) -> Any:
    app = SimpleNamespace(consumer_generation_id=generation, rebalancing=False, starts=0)

    def on_rebalance_start() -> None:
        app.rebalancing = True
        app.starts += 1

    app.on_rebalance_start = on_rebalance_start
    return app


def _event(generation: int) -> Any:
    return SimpleNamespace(message=SimpleNamespace(generation_id=generation))


def test_input_of_the_generation_a_rebalance_leaves_is_stale_from_its_first_moment() -> None:
    app = _app(generation=4)
    fence = Fence(app)
    before = _event(4)
    assert fence.current(before) and fence.rebalances == 0

    app.on_rebalance_start()  # aiokafka's listener, before any partition is revoked
    assert app.starts == 1 and fence.rebalances == 1
    assert not fence.current(before)  # same generation number, but the rebalance began

    app.consumer_generation_id = 5  # assigned; recovery still running
    after = _event(5)
    assert fence.current(after)  # read after the assignment: current while recovery ends
    assert not fence.all_current([after, before])

    app.rebalancing = False
    assert fence.current(after) and not fence.current(before)


def test_nothing_is_current_once_the_worker_shuts_down() -> None:
    app = _app(generation=2)
    fence = Fence(app)
    event = _event(2)
    assert fence.current(event)
    fence.close()
    assert not fence.current(event)


class _Message(SimpleNamespace):
    __hash__ = object.__hash__  # Faust keeps unacknowledged messages in a set


def _fenced_consumer(app: Any, inputs: frozenset[str] = frozenset()) -> Any:
    """A real Faust `Consumer` (only `ack` is exercised; its abstract I/O is never called),
    patched by `fence_acks`, with `app`'s fence over `inputs`."""
    from collections import defaultdict

    from faust.transport.consumer import Consumer

    from agents.intake import fence_acks

    fence_acks()
    app.topics = SimpleNamespace(acks_enabled_for=lambda topic: True)
    app.tierflow_fence = Fence(app, inputs)

    class Bare(Consumer):
        pass

    Bare.__abstractmethods__ = frozenset()
    consumer = object.__new__(Bare)
    consumer.app = app
    consumer._committed_offset = defaultdict(lambda: None)
    consumer._acked = defaultdict(list)
    consumer._acked_index = defaultdict(set)
    consumer._unacked_messages = set()
    consumer._n_acked = 0
    consumer._waiting_for_ack = None
    return consumer


def _message(topic: str, offset: int, generation: int) -> Any:
    from faust.types import TP

    tp = TP(topic, 3)
    return _Message(tp=tp, topic=topic, offset=offset, generation_id=generation, acked=False)


def test_faust_counts_no_acknowledgement_of_a_stale_message() -> None:
    app = _app(generation=7)
    consumer = _fenced_consumer(app)
    current, stale = _message("t.pos.receipts", 10, 7), _message("t.pos.receipts", 11, 6)
    consumer._unacked_messages.update({current, stale})
    assert consumer.ack(current) is True
    assert consumer.ack(stale) is False  # skipped by Faust's stream, or read before
    assert consumer._acked[current.tp] == [10]  # only the current one can be committed
    assert consumer._unacked_messages == set()


def test_an_input_counts_towards_a_commit_only_when_the_agent_acknowledges_it() -> None:
    app = _app(generation=7)
    receipts = "t.pos.receipts"
    consumer = _fenced_consumer(app, frozenset({receipts}))
    skipped, applied = _message(receipts, 20, 7), _message(receipts, 21, 7)
    other = _message("t.other", 5, 7)
    consumer._unacked_messages.update({skipped, applied, other})

    # Faust's stream acks an event it skipped (flow control off): it must be read again.
    assert consumer.ack(skipped) is False
    assert consumer.ack(other) is True  # not an input of the member agent
    with app.tierflow_fence.acks():
        assert consumer.ack(applied) is True
    assert consumer._acked[applied.tp] == [21]
    assert consumer._acked[other.tp] == [5]
    assert not app.tierflow_fence.counts(_message(receipts, 22, 7))  # the block has ended


def test_faust_records_no_gap_of_its_own_in_an_input_and_commits_past_the_named_ones() -> None:
    from collections import defaultdict

    from intervaltree import IntervalTree

    from agents.intake import mark_absent

    app = _app(generation=7)
    receipts = "t.pos.receipts"
    consumer = _fenced_consumer(app, frozenset({receipts}))
    consumer._gap = defaultdict(IntervalTree)
    tp = _message(receipts, 0, 7).tp
    other = _message("t.other", 0, 7).tp

    # Faust's fetch loop jumped over offsets (records it dropped itself, after a seek).
    asyncio.run(consumer._add_gap(tp, 3, 7))
    asyncio.run(consumer._add_gap(other, 3, 7))
    assert not consumer._gap[tp] and len(consumer._gap[other]) == 1

    # The agent names the offsets that hold no record: a marker pair and a lone marker.
    mark_absent(consumer, tp, [3, 4, 7])
    assert sorted((i.begin, i.end) for i in consumer._gap[tp]) == [(3, 5), (7, 8)]
    consumer._committed_offset[tp] = 2
    with app.tierflow_fence.acks():
        for offset in (2, 5, 6, 8):
            assert consumer.ack(_message(receipts, offset, 7)) is True
    assert consumer._new_offset(tp) == 9  # past the markers, to the next record

    consumer._committed_offset[tp] = 9
    with app.tierflow_fence.acks():
        consumer.ack(_message(receipts, 12, 7))
    assert consumer._new_offset(tp) is None  # 9..11 neither acknowledged nor named
