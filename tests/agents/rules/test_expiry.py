"""Expiry by lots: months after earning, soonest lots spent first, EXPIRE at the review."""

from __future__ import annotations

from datetime import date

from agents.rules import LedgerKind, Template, Templates, next_review_date

from .builders import Run, adjusted, enrolled, program, redeemed, return_of, sale, tick


def expiring(months: int = 3) -> Run:
    return Run(program(expiry_months=months))


def test_points_expire_months_after_they_were_earned() -> None:
    run = expiring()
    run(sale("r1", "100.00", "2025-01-31T12:00"))
    assert next_review_date(run.member, run.program) == date(2025, 4, 30)
    assert not run(tick("2025-04-29"))
    out = run(tick("2025-04-30"))
    assert [(e.kind, e.points, e.entry_id) for e in out.ledger] == [
        (LedgerKind.EXPIRE, -100, "m1:review:2025-04-30:EXPIRE:0")
    ]
    assert run.member.balance == 0


def test_expiry_never_changes_qualifying_points() -> None:
    run = expiring()
    run(sale("r1", "100.00", "2025-01-10T12:00"))
    out = run(tick("2025-04-10"))
    assert out.ledger[0].qualifying_points == 0
    assert run.member.qualifying_points == 100


def test_redemption_spends_the_soonest_to_expire_lots_first() -> None:
    run = expiring()
    run(sale("r1", "100.00", "2025-01-10T12:00"), sale("r2", "100.00", "2025-02-10T12:00"))
    run(redeemed("e1", 120, "2025-02-11T12:00"))
    assert run.member.lots == {date(2025, 5, 10): 80}
    out = run(tick("2025-04-10"))
    assert not out.ledger  # the January lot was spent
    out = run(tick("2025-05-10"))
    assert [e.points for e in out.ledger] == [-80]


def test_negative_adjustment_spends_soonest_first() -> None:
    run = expiring()
    run(sale("r1", "100.00", "2025-01-10T12:00"), sale("r2", "100.00", "2025-02-10T12:00"))
    run(adjusted("a1", -150, "2025-02-11T12:00"))
    assert run.member.lots == {date(2025, 5, 10): 50}


def test_return_takes_its_own_lot_first() -> None:
    run = expiring()
    run(sale("r1", "100.00", "2025-01-10T12:00"), sale("r2", "100.00", "2025-02-10T12:00"))
    run(return_of("x2", "r2", "100.00", "2025-02-11T12:00"))
    assert run.member.lots == {date(2025, 4, 10): 100}


def test_earnings_pay_a_debt_before_forming_a_lot() -> None:
    run = expiring()
    run(sale("r1", "100.00", "2025-01-10T12:00"))
    run(redeemed("e1", 100, "2025-01-11T12:00"))
    run(return_of("x1", "r1", "100.00", "2025-01-12T12:00"))
    assert run.member.balance == -100
    run(sale("r2", "150.00", "2025-01-13T12:00"))
    assert run.member.lots == {date(2025, 4, 13): 50}
    assert [e.points for e in run(tick("2025-04-13")).ledger] == [-50]
    assert run.member.balance == 0


def test_points_without_expiry_never_expire() -> None:
    run = Run(program())
    run(sale("r1", "100.00", "2025-01-10T12:00"))
    assert run.member.lots == {}
    assert not run(tick("2025-12-31")).ledger


def test_reminder_before_points_expire() -> None:
    templates = Templates(
        points_expiring=Template(
            email_subject="{points} points expire on {expires_on}",
            email_body="Hi {name}, spend them before {expires_on}.",
        ),
        expiry_reminder_days=14,
    )
    run = Run(program(expiry_months=3, templates=templates))
    run(enrolled("e1", "2025-01-01T09:00"))
    run(sale("r1", "100.00", "2025-01-10T12:00"))
    assert next_review_date(run.member, run.program) == date(2025, 3, 27)
    out = run(tick("2025-03-27"))
    assert [(n.template, n.subject, n.notification_id) for n in out.notifications] == [
        (
            "points_expiring",
            "100 points expire on 2025-04-10",
            "m1:review:2025-03-27:REMINDER:2025-04-10:EMAIL",
        )
    ]
    assert not run(tick("2025-03-27"))
    assert [e.points for e in run(tick("2025-04-10")).ledger] == [-100]


def test_no_reminder_for_spent_points() -> None:
    templates = Templates(points_expiring=Template(email_body="x"), expiry_reminder_days=14)
    run = Run(program(expiry_months=3, templates=templates))
    run(enrolled("e1", "2025-01-01T09:00"))
    run(sale("r1", "100.00", "2025-01-10T12:00"))
    run(redeemed("e-red", 100, "2025-01-11T12:00"))
    # No reminder (that would be 2025-03-27): the next review is the day the points come
    # within 30 days of leaving the window (2026-01-10).
    assert next_review_date(run.member, run.program) == date(2025, 12, 11)
    assert not run(tick("2025-03-27")).notifications
