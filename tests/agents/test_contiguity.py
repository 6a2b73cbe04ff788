"""Records a worker never received are counted per input partition (agents/contiguity.py)."""

from __future__ import annotations

from agents.contiguity import ContiguityWatch

TP = ("pos.receipts", 5)


def test_in_order_records_repeats_and_markers_are_no_gap() -> None:
    watch = ContiguityWatch()
    assert [watch.observe(TP, offset, committed=1961) for offset in (1961, 1962, 1964)] == [
        0,
        0,
        0,  # 1963: a transaction marker
    ]
    assert watch.observe(TP, 1962, committed=1961) == 0  # a repeat
    assert (watch.skipped_runs, watch.skipped_offsets) == (0, 0)


def test_a_skipped_run_is_counted() -> None:
    watch = ContiguityWatch()
    assert watch.observe(TP, 1961, committed=1961) == 0
    assert watch.observe(TP, 2094, committed=1961) == 132  # 1962..2093 never came
    assert watch.observe(TP, 2095, committed=1961) == 0
    assert (watch.skipped_runs, watch.skipped_offsets) == (1, 132)


def test_right_after_an_assignment_the_committed_offset_is_expected() -> None:
    watch = ContiguityWatch()
    assert watch.observe(TP, 2200, committed=2087) == 113
    watch.reset()
    assert watch.observe(TP, 2200, committed=None) == 0  # nothing known
