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
    # The stall seen: the agent expects 2037, aiokafka is at 2262.
    assert watch.dropped("r/5", expected=2037, fetched_to=2262) == range(0)
    clock.now = 9.0
    assert watch.dropped("r/5", expected=2037, fetched_to=2262) == range(0)
    clock.now = 10.0
    assert watch.dropped("r/5", 2037, 2262) == range(2037, 2262)
    watch.repaired("r/5", records=225)
    assert watch.repairs == 1
    assert watch.dropped("r/5", 2037, 2262) == range(0)  # the clock starts again


def test_a_single_offset_at_the_tail_is_read_once_whether_marker_or_record() -> None:
    # A transaction's commit marker and a single record Faust dropped look alike from here
    # (seen: one receipt that never came, after a recovery): both are read from the broker.
    clock = Clock()
    watch = TailWatch(patience=10.0, clock=clock)
    assert watch.dropped("r/6", 500, 501) == range(0)
    clock.now = 10.0
    assert watch.dropped("r/6", 500, 501) == range(500, 501)
    watch.repaired("r/6", records=0)  # a marker: not counted as a repair
    assert watch.repairs == 0
    # The agent now expects the offset after it: nothing more to read.
    clock.now = 100.0
    assert watch.dropped("r/6", 501, 501) == range(0)


def test_progress_restarts_the_wait_and_nothing_known_is_no_dropped_tail() -> None:
    clock = Clock()
    watch = TailWatch(patience=10.0, clock=clock)
    watch.dropped("r/5", 2037, 2262)
    clock.now = 11.0
    # The agent moved on meanwhile (records were on their way): the clock starts again.
    assert watch.dropped("r/5", 2100, 2262) == range(0)
    clock.now = 15.0
    assert watch.dropped("r/5", 2100, 2262) == range(0)
    # aiokafka fetched more meanwhile: the clock starts again too.
    clock.now = 22.0
    assert watch.dropped("r/5", 2100, 2300) == range(0)
    clock.now = 31.0
    assert watch.dropped("r/5", 2100, 2300) == range(0)
    clock.now = 32.0
    assert watch.dropped("r/5", 2100, 2300) == range(2100, 2300)
    # Nothing known yet (no record since the assignment, no fetch position), or caught up.
    assert watch.dropped("r/7", None, 900) == range(0)
    assert watch.dropped("r/7", 10, None) == range(0)
    assert watch.dropped("r/7", 900, 900) == range(0)
