"""A gap below the acknowledged input offsets is read again only once it is lost: it sat
there for the whole patience with the committed offset not moving (agents/gaps.py)."""

from __future__ import annotations

from agents.gaps import GapWatch


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_gap_that_stays_past_the_patience_is_lost() -> None:
    clock = Clock()
    watch = GapWatch(patience=15.0, clock=clock)
    tp = ("receipts", 3)
    assert not watch.lost(tp, 1765, [1794, 1795, 2772])  # first seen
    clock.now += 14.9
    assert not watch.lost(tp, 1765, [1794, 2772])
    clock.now += 0.1
    assert watch.lost(tp, 1765, [1794, 2772])
    watch.repaired(tp)
    assert watch.repairs == 1
    assert not watch.lost(tp, 1765, [1794])  # the patience starts again after a repair


def test_no_gap_when_the_next_offset_to_commit_is_acknowledged() -> None:
    clock = Clock()
    watch = GapWatch(patience=1.0, clock=clock)
    assert not watch.lost("tp", 10, [10, 11, 12])
    clock.now += 5
    assert not watch.lost("tp", 10, [10, 11, 12])
    assert not watch.lost("tp", 10, [])  # nothing acknowledged beyond: nothing to say
    assert not watch.lost("tp", None, [3])  # no committed offset known


def test_a_committed_offset_that_moves_is_a_batch_in_flight_not_a_loss() -> None:
    clock = Clock()
    watch = GapWatch(patience=10.0, clock=clock)
    assert not watch.lost("tp", 100, [150])
    clock.now += 8
    assert not watch.lost("tp", 120, [150])  # progress: the watch starts over
    clock.now += 8
    assert not watch.lost("tp", 120, [150])
    clock.now += 2
    assert watch.lost("tp", 120, [150])
