"""A run at the tail of an input partition that Faust took and never delivered is reported
once it has plainly stopped (agents/tail.py)."""

from __future__ import annotations

from agents.tail import TailWatch


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_tail_taken_by_faust_and_not_delivered_for_patience_seconds_is_dropped() -> None:
    clock = Clock()
    watch = TailWatch(patience=10.0, clock=clock)
    # The stall seen: the agent expects 2037, Faust read up to 2036, aiokafka is at 2262.
    assert watch.dropped("r/5", expected=2037, read_offset=2036, fetched_to=2262) == range(0)
    clock.now = 9.0
    assert watch.dropped("r/5", expected=2037, read_offset=2036, fetched_to=2262) == range(0)
    clock.now = 10.0
    assert watch.dropped("r/5", 2037, 2036, 2262) == range(2037, 2262)
    watch.repaired("r/5")
    assert watch.repairs == 1
    assert watch.dropped("r/5", 2037, 2036, 2262) == range(0)  # the clock starts again


def test_progress_records_on_their_way_or_markers_are_no_dropped_tail() -> None:
    clock = Clock()
    watch = TailWatch(patience=10.0, clock=clock)
    watch.dropped("r/5", 2037, 2036, 2262)
    clock.now = 11.0
    # The agent moved on meanwhile: the clock starts again.
    assert watch.dropped("r/5", 2100, 2099, 2262) == range(0)
    clock.now = 15.0
    assert watch.dropped("r/5", 2100, 2099, 2262) == range(0)
    # Faust has delivered past what the agent saw: those records are on their way.
    clock.now = 30.0
    assert watch.dropped("r/5", 2100, 2150, 2262) == range(0)
    clock.now = 60.0
    assert watch.dropped("r/5", 2100, 2150, 2262) == range(0)
    # Two offsets past the agent are transaction markers, not a run.
    assert watch.dropped("r/6", 500, 499, 502) == range(0)
    clock.now = 100.0
    assert watch.dropped("r/6", 500, 499, 502) == range(0)
    # Nothing known yet (no record since the assignment, no fetch position).
    assert watch.dropped("r/7", None, None, 900) == range(0)
    assert watch.dropped("r/7", 10, None, None) == range(0)
