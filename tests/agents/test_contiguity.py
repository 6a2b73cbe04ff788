"""Records a worker never received are found per input partition (agents/contiguity.py)."""

from __future__ import annotations

from agents.contiguity import ContiguityWatch

TP = ("pos.receipts", 5)


def test_in_order_records_and_repeats_miss_nothing_and_a_jump_of_one_is_reported() -> None:
    watch = ContiguityWatch()
    assert [list(watch.observe(TP, offset, committed=1961)) for offset in (1961, 1962)] == [[], []]
    assert (watch.skipped_runs, watch.skipped_offsets) == (0, 0)
    # A commit marker, or a single record Faust dropped: only the broker can tell.
    assert watch.observe(TP, 1964, committed=1961) == range(1963, 1964)
    assert watch.observe(TP, 1962, committed=1961) == range(0)  # a repeat
    assert (watch.skipped_runs, watch.skipped_offsets) == (1, 1)


def test_a_skipped_run_is_reported_and_counted() -> None:
    watch = ContiguityWatch()
    assert not watch.follows(TP)
    assert watch.observe(TP, 1961, committed=1961) == range(0)
    assert watch.follows(TP)
    assert watch.observe(TP, 2094, committed=1961) == range(1962, 2094)  # never came
    assert watch.observe(TP, 2095, committed=1961) == range(0)
    assert (watch.skipped_runs, watch.skipped_offsets) == (1, 132)


def test_right_after_an_assignment_the_committed_offset_is_expected() -> None:
    watch = ContiguityWatch()
    assert len(watch.observe(TP, 2200, committed=2087)) == 113
    watch.reset()
    assert watch.observe(TP, 2200, committed=None) == range(0)  # nothing known


def test_a_partition_read_again_is_expected_from_where_it_was_sought() -> None:
    watch = ContiguityWatch()
    watch.observe(TP, 500, committed=500)
    watch.rewind(TP, 420)
    assert watch.observe(TP, 420, committed=500) == range(0)
    assert watch.observe(TP, 425, committed=500) == range(421, 425)
