"""Returns: the original's rates, proportional and capped, QP from the original date, waiting."""

from __future__ import annotations

from agents.rules import LedgerKind, MemberEventType, Rejection

from .builders import (
    Run,
    line,
    member_event,
    program,
    redeemed,
    return_of,
    sale,
    silver_with,
    tick,
)


def test_return_after_upgrade_uses_the_original_rate() -> None:
    run = silver_with(20_000)
    bought = run(sale("r1", "1500.00", "2025-02-01T10:00"))
    assert bought.ledger[0].points == 2_250  # Silver x1.5
    run(sale("r2", "5000.00", "2025-02-02T10:00"))
    assert run.member.tier == "Gold"
    back = run(return_of("x1", "r1", "1500.00", "2025-02-03T10:00"))
    assert [(e.kind, e.points) for e in back.ledger] == [(LedgerKind.RETURN, -2_250)]
    assert "Silver (x1.5)" in back.ledger[0].description
    assert back.ledger[0].entry_id == "x1:RETURN"


def test_partial_returns_are_capped_so_a_fourth_takes_nothing() -> None:
    run = silver_with(10_000)
    run(sale("r1", "100.00", "2025-02-01T10:00"))  # 150 points, 100 QP
    taken = [
        run(return_of(f"x{n}", "r1", amount, "2025-02-02T10:00")).ledger[0].points
        for n, amount in enumerate(["50.00", "30.00", "20.00", "10.00"])
    ]
    assert taken == [-75, -45, -30, 0]
    assert sum(taken) == -150
    assert run.member.qualifying_points == 10_000


def test_partial_returns_prorate_cumulatively_without_drift() -> None:
    run = Run(program())
    run(sale("r1", "10.00", "2025-02-01T10:00"))
    taken = [
        run(return_of(f"x{n}", "r1", "3.33", "2025-02-02T10:00")).ledger[0].points for n in range(3)
    ]
    taken.append(run(return_of("x3", "r1", "0.01", "2025-02-02T10:00")).ledger[0].points)
    assert taken == [-3, -4, -3, 0]  # 3.33/10 -> 3, 6.66 -> 7, 9.99 -> 10, all of it -> 10


def test_return_takes_qualifying_points_from_the_original_date() -> None:
    run = Run(program())
    run(sale("r1", "100.00", "2025-01-10T10:00"), sale("r2", "50.00", "2025-03-01T10:00"))
    run(return_of("x1", "r1", "40.00", "2025-03-02T10:00"))
    assert {d.isoformat(): qp for d, qp in run.member.qualifying.items()} == {
        "2025-01-10": 60,
        "2025-03-01": 50,
    }


def test_return_of_excluded_lines_takes_nothing() -> None:
    run = Run(program(excluded_categories=frozenset({"gift_card"})))
    run(sale("r1", [line("20.00"), line("50.00", "gift_card", "GC")], "2025-02-01T10:00"))
    back = run(return_of("x1", "r1", [line("50.00", "gift_card", "GC")], "2025-02-02T10:00"))
    assert back.ledger[0].points == 0
    assert run.member.balance == 20


def test_return_can_cost_a_tier_only_at_the_next_review() -> None:
    run = Run(program())
    run(sale("r1", "10000.00", "2025-02-01T10:00"))
    back = run(return_of("x1", "r1", "10000.00", "2025-02-01T18:00"))
    assert run.member.tier == "Silver"
    assert not back.tier_changes
    reviewed = run(tick("2025-02-02"))
    assert [(c.from_tier, c.to_tier, c.reason) for c in reviewed.tier_changes] == [
        ("Silver", "Member", "review_recalculate")
    ]


def test_clawback_into_a_negative_balance_is_paid_back_by_later_earnings() -> None:
    run = Run(program())
    run(sale("r1", "100.00", "2025-02-01T10:00"))
    run(redeemed("e-red", 80, "2025-02-02T10:00"))
    back = run(return_of("x1", "r1", "100.00", "2025-02-03T10:00"))
    assert back.ledger[0].balance_after == -80
    earned = run(sale("r2", "30.00", "2025-02-04T10:00"))
    assert earned.ledger[0].balance_after == -50
    assert run.member.balance == -50


def test_return_before_its_sale_waits_then_applies() -> None:
    run = Run(program())
    run(sale("r0", "1.00", "2025-02-01T09:00"))
    held = run(return_of("x1", "r1", "100.00", "2025-02-02T10:00"))
    assert not held
    assert set(run.member.pending_returns) == {"x1"}
    matched = run(sale("r1", "100.00", "2025-02-01T10:00"))
    assert [(e.kind, e.points, e.entry_id) for e in matched.ledger] == [
        (LedgerKind.EARN, 100, "r1:EARN"),
        (LedgerKind.RETURN, -100, "x1:RETURN"),
    ]
    assert run.member.pending_returns == {}
    assert run.member.balance == 1


def test_unmatched_return_is_dead_lettered_at_the_review_after_match_days() -> None:
    run = Run(program(returns_match_days=7))
    run(sale("r0", "1.00", "2025-02-01T09:00"))
    run(return_of("x1", "r-never", "100.00", "2025-02-02T10:00"))
    assert not run(tick("2025-02-08"))  # still waiting on day 6
    out = run(tick("2025-02-09"))
    assert [(r.error_code, r.subject.receipt_id) for r in out.rejections] == [
        ("unmatched_return", "x1")
    ]
    assert isinstance(out.rejections[0], Rejection)
    assert run.member.pending_returns == {}
    # The sale arriving after all is credited normally; the return is not taken again.
    late = run(sale("r-never", "100.00", "2025-02-01T10:00"))
    assert [e.kind for e in late.ledger] == [LedgerKind.EARN]
    assert not run(return_of("x1", "r-never", "100.00", "2025-02-02T10:00"))


def test_waiting_return_duplicate_is_a_noop() -> None:
    run = Run(program())
    run(sale("r0", "1.00", "2025-02-01T09:00"))
    run(return_of("x1", "r1", "100.00", "2025-02-02T10:00"))
    assert not run(return_of("x1", "r1", "100.00", "2025-02-02T10:00"))
    conflict = run(return_of("x1", "r1", "90.00", "2025-02-02T10:00"))
    assert [r.error_code for r in conflict.rejections] == ["conflicting_duplicate"]


def test_return_must_reference_a_sale() -> None:
    run = Run(program())
    run(sale("r1", "10.00", "2025-02-01T09:00"))
    run(return_of("x1", "r1", "5.00", "2025-02-01T10:00"))
    out = run(return_of("x2", "x1", "5.00", "2025-02-01T11:00"))
    assert [r.error_code for r in out.rejections] == ["invalid_return"]


def test_return_of_a_blocked_sale_takes_nothing_back() -> None:
    run = Run(program())
    run(sale("r0", "10.00", "2025-02-01T09:00"))
    run(member_event(MemberEventType.BLOCKED, "b1", "2025-02-01T10:00", actor="fraud"))
    run(sale("r1", "100.00", "2025-02-01T11:00"))
    back = run(return_of("x1", "r1", "100.00", "2025-02-01T12:00"))
    assert back.ledger[0].points == 0
    assert run.member.balance == 10
