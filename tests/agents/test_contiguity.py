"""An input partition reaches the rules as a contiguous run of offsets, or is read again
(agents/contiguity.py)."""

from __future__ import annotations

from agents.contiguity import ContiguityGuard, Verdict

TP = ("pos.receipts", 5)


def test_in_order_records_and_repeats_pass() -> None:
    guard = ContiguityGuard()
    assert [guard.check(TP, offset, committed=1961) for offset in (1961, 1962, 1963)] == [
        Verdict.APPLY
    ] * 3
    assert guard.check(TP, 1962, committed=1961) is Verdict.APPLY  # a repeat
    assert guard.expected(TP) == 1964


def test_a_skipped_run_is_read_again_before_anything_after_it() -> None:
    guard = ContiguityGuard()
    assert guard.check(TP, 1961, committed=1961) is Verdict.APPLY
    # Records 1962..2093 never came; 2094 did: seek back to 1962.
    assert guard.check(TP, 2094, committed=1961) is Verdict.SEEK
    assert guard.expected(TP) == 1962
    # What was fetched before the seek keeps coming, and is dropped ...
    assert guard.check(TP, 2095, committed=1961) is Verdict.DROP
    # ... until the re-read starts.
    assert guard.check(TP, 1962, committed=1961) is Verdict.APPLY
    assert guard.check(TP, 1963, committed=1961) is Verdict.APPLY
    assert (guard.seeks, guard.dropped) == (1, 2)


def test_right_after_an_assignment_the_committed_offset_is_expected() -> None:
    guard = ContiguityGuard()
    assert guard.check(TP, 2200, committed=2087) is Verdict.SEEK
    assert guard.expected(TP) == 2087
    guard.reset()
    assert guard.check(TP, 2200, committed=None) is Verdict.APPLY  # nothing known


def test_transaction_markers_pass_and_a_real_gap_is_let_through_after_the_re_read() -> None:
    guard = ContiguityGuard()
    assert guard.check(TP, 10, committed=10) is Verdict.APPLY
    assert guard.check(TP, 12, committed=10) is Verdict.APPLY  # offset 11: a marker
    assert guard.check(TP, 20, committed=10) is Verdict.SEEK  # 13..19 missing
    # The re-read shows the same gap (nothing at 13..19, say compacted away): let through.
    assert guard.check(TP, 20, committed=10) is Verdict.APPLY
    assert guard.check(TP, 21, committed=10) is Verdict.APPLY
