"""A partition Faust stopped fetching for is resumed only once it is plainly stuck
(agents/dormant.py)."""

from __future__ import annotations

from types import SimpleNamespace

from agents.dormant import DormantWatch, resume_partition


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_inactive_partition_with_records_waiting_and_no_progress_is_dormant() -> None:
    clock = Clock()
    watch = DormantWatch(patience=10.0, clock=clock)
    assert not watch.dormant("r/5", inactive=True, read_offset=2036, fetched_to=2262)
    clock.now = 9.0
    assert not watch.dormant("r/5", inactive=True, read_offset=2036, fetched_to=2262)
    clock.now = 10.0
    assert watch.dormant("r/5", inactive=True, read_offset=2036, fetched_to=2262)
    watch.resume("r/5")
    assert watch.resumed == 1
    assert not watch.dormant("r/5", inactive=True, read_offset=2036, fetched_to=2262)


def test_progress_an_active_partition_or_nothing_waiting_is_not_dormant() -> None:
    clock = Clock()
    watch = DormantWatch(patience=10.0, clock=clock)
    watch.dormant("r/5", inactive=True, read_offset=2036, fetched_to=2262)
    clock.now = 11.0
    # Faust delivered more meanwhile: the clock starts again.
    assert not watch.dormant("r/5", inactive=True, read_offset=2100, fetched_to=2262)
    clock.now = 15.0
    assert not watch.dormant("r/5", inactive=True, read_offset=2100, fetched_to=2262)
    # Back among the active partitions: forgotten.
    assert not watch.dormant("r/5", inactive=False, read_offset=2100, fetched_to=2262)
    clock.now = 40.0
    assert not watch.dormant("r/5", inactive=True, read_offset=2100, fetched_to=2262)
    # Everything fetched was delivered (a buffer simply full and idle is no stall).
    clock.now = 80.0
    assert not watch.dormant("r/5", inactive=True, read_offset=2261, fetched_to=2262)


def test_resuming_uses_fausts_buffer_drop_or_puts_the_partition_back() -> None:
    active: set[str] = set()
    dropped: list[str] = []
    consumer = SimpleNamespace(
        _buffered_partitions={"r/5"},
        on_buffer_drop=dropped.append,
        _get_active_partitions=lambda: active,
    )
    resume_partition(consumer, "r/5")
    assert dropped == ["r/5"] and active == set()
    resume_partition(consumer, "r/6")
    assert active == {"r/6"}
