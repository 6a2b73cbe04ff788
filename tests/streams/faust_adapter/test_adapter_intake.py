"""The intake takes input records at Faust's fetch and hands them over per partition from the
committed offset on, in order, with nothing missing, within one epoch."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, NamedTuple

from streams.faust_adapter.intake import FaustInput
from streams.faust_adapter.refill import Record, Run

INPUTS = frozenset({"in.receipts", "in.events"})


class TP(NamedTuple):
    topic: str
    partition: int


@dataclass(frozen=True)
class Fetched:
    topic: str
    partition: int
    offset: int
    timestamp: int = 0
    key: bytes | None = b"k"
    value: bytes | None = b"v"


class Runs:
    """A RunReader that finds what `held` says the broker has at each offset."""

    def __init__(self, held: dict[tuple[str, int, int], Record] | None = None) -> None:
        self.held = held or {}
        self.asked: list[Run] = []

    def read_many(self, runs: list[Run]) -> list[list[Record]]:
        self.asked.extend(runs)
        return [
            [
                self.held[(run.topic, run.partition, offset)]
                for offset in range(run.start, run.end)
                if (run.topic, run.partition, offset) in self.held
            ]
            for run in runs
        ]


def intake(runs: Runs | None = None, batch_size: int = 100, ends: dict | None = None) -> FaustInput:
    return FaustInput(
        INPUTS,
        runs or Runs(),  # type: ignore[arg-type]
        batch_size=batch_size,
        pulse=0.01,
        highwater=lambda topic, partition: (ends or {}).get((topic, partition)),
    )


def fetch(*records: Fetched) -> dict[TP, list[Fetched]]:
    out: dict[TP, list[Fetched]] = {}
    for record in records:
        out.setdefault(TP(record.topic, record.partition), []).append(record)
    return out


def next_batch(source: FaustInput) -> Any:
    async def one() -> Any:
        async for batch in source.batches():
            return batch
        return None

    return asyncio.run(one())


def offsets(batch: Any) -> list[tuple[str, int, int]]:
    return [(r.topic, r.partition, r.offset) for r in batch.records]


def test_faust_keeps_the_records_of_other_topics() -> None:
    source = intake()
    rest = source.take(
        fetch(Fetched("in.receipts", 0, 0), Fetched("changelog", 0, 7)), source.epoch_now()
    )
    assert list(rest) == [TP("changelog", 0)]
    assert source.status()["queued"] == 1


def test_a_partition_is_handed_over_only_once_seeked_from_its_committed_offset() -> None:
    source = intake()
    source.take(fetch(Fetched("in.receipts", 0, 4), Fetched("in.receipts", 0, 5)), 0)
    assert next_batch(source).records == []  # a pulse: the partition is not open yet
    source.seeked({TP("in.receipts", 0): 5})
    assert offsets(next_batch(source)) == [("in.receipts", 0, 5)]  # 4: a repeat


def test_a_fetch_a_rebalance_overtook_is_dropped_and_the_queue_cleared() -> None:
    source = intake()
    source.seeked({TP("in.receipts", 0): 0})
    before = source.epoch_now()
    source.take(fetch(Fetched("in.receipts", 0, 0)), before)
    source.revoke()
    source.take(fetch(Fetched("in.receipts", 0, 1)), before)  # began before the revoke
    assert source.status()["queued"] == 0
    assert source.status()["dropped_stale"] == 1
    assert source.epoch == before + 1 and source.assigned == frozenset()


def test_a_jump_is_read_from_the_broker_and_its_records_put_in_place() -> None:
    lost = Record("in.receipts", 0, 1, 0, b"k", b"lost")
    runs = Runs({("in.receipts", 0, 1): lost})
    source = intake(runs)
    source.seeked({TP("in.receipts", 0): 0})
    source.take(
        fetch(
            Fetched("in.receipts", 0, 0),
            Fetched("in.receipts", 0, 3),  # 1 lost, 2 a transaction marker
        ),
        source.epoch_now(),
    )
    batch = next_batch(source)
    assert offsets(batch) == [("in.receipts", 0, 0), ("in.receipts", 0, 1), ("in.receipts", 0, 3)]
    assert runs.asked == [Run("in.receipts", 0, 1, 3)]
    assert source.status()["refilled"] == 1


def test_no_committed_offset_starts_at_the_first_record_delivered() -> None:
    source = intake()
    source.seeked({TP("in.events", 2): None})
    source.take(fetch(Fetched("in.events", 2, 40), Fetched("in.events", 2, 41)), 0)
    assert offsets(next_batch(source)) == [("in.events", 2, 40), ("in.events", 2, 41)]


def test_a_full_queue_holds_the_fetch_loop_until_the_worker_takes_a_batch() -> None:
    source = intake(batch_size=2)  # queue limit: 8
    source.seeked({TP("in.receipts", 0): 0})
    source.take(fetch(*(Fetched("in.receipts", 0, n) for n in range(8))), 0)
    assert source.status()["fetch_held"]

    async def run() -> list[bool]:
        waiting = asyncio.create_task(source.room())
        await asyncio.sleep(0.01)
        held = [waiting.done()]
        batches = source.batches()
        for _ in range(3):  # 2 records each: 2 left, below half the limit
            await anext(batches)
        await asyncio.sleep(0.01)
        return [*held, waiting.done()]

    assert asyncio.run(run()) == [False, True]
    assert not source.status()["fetch_held"]


def test_lag_counts_what_the_broker_has_past_the_last_record_handed_over() -> None:
    source = intake(ends={("in.receipts", 0): 10})
    assert source.lag("in.receipts", 0) is None  # not open
    source.seeked({TP("in.receipts", 0): 3})
    assert source.lag("in.receipts", 0) == 7
    source.take(fetch(Fetched("in.receipts", 0, 3), Fetched("in.receipts", 0, 4)), 0)
    next_batch(source)
    assert source.lag("in.receipts", 0) == 5


def test_commits_of_an_ended_epoch_are_refused() -> None:
    source = intake()
    committed: list[Any] = []

    async def commit(offsets: Any) -> bool:
        committed.append(offsets)
        return True

    source.commit_offsets = commit
    assert asyncio.run(source.commit({("in.receipts", 0): 5}, source.epoch))
    source.revoke()
    assert not asyncio.run(source.commit({("in.receipts", 0): 6}, source.epoch - 1))
    assert committed == [{("in.receipts", 0): 5}]


def test_an_empty_partition_with_nothing_committed_is_caught_up() -> None:
    source = intake(ends={("in.events", 0): 0, ("in.events", 1): 3})
    source.seeked({TP("in.events", 0): None, TP("in.events", 1): None})
    assert source.lag("in.events", 0) == 0
    assert source.lag("in.events", 1) is None  # records there, where reading starts unknown


def test_the_lag_is_known_from_the_opening_before_any_fetch() -> None:
    asked: list[Any] = []

    async def bounds(tps: list[Any]) -> dict[Any, tuple[int, int]]:
        asked.extend(tps)
        return {tp: (30, 34) for tp in tps}

    source = FaustInput(
        INPUTS,
        Runs(),  # type: ignore[arg-type]
        batch_size=100,
        pulse=0.01,
        highwater=lambda topic, partition: None,  # not fetched yet
        bounds=bounds,
    )

    async def run() -> tuple[int | None, int | None]:
        source.seeked({TP("in.events", 5): None, TP("in.events", 6): 32})
        await asyncio.sleep(0.01)
        return source.lag("in.events", 5), source.lag("in.events", 6)

    # Nothing committed on 5: read from its first offset, 30 (retention removed the rest).
    assert asyncio.run(run()) == (4, 2)
    assert asked == [TP("in.events", 5), TP("in.events", 6)]


def test_under_a_backlog_every_partition_gets_its_share_of_each_batch() -> None:
    source = intake(batch_size=30)
    tps = [TP("in.receipts", p) for p in range(3)]
    source.seeked({tp: 0 for tp in tps})
    source.take(fetch(*(Fetched(tp.topic, tp.partition, n) for tp in tps for n in range(100))), 0)
    batch = next_batch(source)
    per_partition = {p: sum(1 for r in batch.records if r.partition == p) for p in range(3)}
    assert per_partition == {0: 10, 1: 10, 2: 10}
