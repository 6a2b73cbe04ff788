"""Member events: redemptions, adjustments, block/unblock, anonymize, enrollment."""

from __future__ import annotations

from datetime import date

from agents.rules import LedgerKind, MemberEventType, MemberStatus, member_view

from .builders import (
    Run,
    adjusted,
    enrolled,
    member_event,
    program,
    redeemed,
    sale,
    silver_with,
)


def test_worked_example_redemption_keeps_qualifying_points_and_tier() -> None:
    run = Run(program())
    run(enrolled("e1", "2025-01-01T09:00"))
    for month in range(1, 9):  # 13,000 QP over 8 months
        run(sale(f"r{month}", "1625.00", f"2025-{month:02d}-05T12:00"))
    assert run.member.qualifying_points == 13_000
    assert run.member.tier == "Silver"
    balance = run.member.balance
    out = run(redeemed("e-red", 10_000, "2025-08-20T12:00"))
    assert [(e.kind, e.points, e.qualifying_points) for e in out.ledger] == [
        (LedgerKind.REDEEM, -10_000, 0)
    ]
    assert run.member.balance == balance - 10_000
    assert run.member.qualifying_points == 13_000
    assert run.member.tier == "Silver"
    assert not out.tier_changes


def test_redemption_above_the_balance_is_refused_with_zero_points() -> None:
    run = Run(program())
    run(sale("r1", "50.00", "2025-01-05T12:00"))
    out = run(redeemed("e-red", 51, "2025-01-06T12:00"))
    entry = out.ledger[0]
    assert (entry.kind, entry.points, entry.reason) == (
        LedgerKind.REDEMPTION_REFUSED,
        0,
        "insufficient_balance",
    )
    assert entry.entry_id == "e-red:REDEMPTION_REFUSED"
    assert run.member.balance == 50


def test_redemption_needs_positive_points() -> None:
    run = Run(program())
    run(sale("r1", "50.00", "2025-01-05T12:00"))
    out = run(redeemed("e-red", 0, "2025-01-06T12:00"))
    assert [r.error_code for r in out.rejections] == ["invalid_redemption"]


def test_adjustment_needs_actor_and_reason() -> None:
    run = Run(program())
    run(sale("r1", "50.00", "2025-01-05T12:00"))
    assert [
        r.error_code for r in run(adjusted("a1", 10, "2025-01-06T12:00", actor=None)).rejections
    ] == ["invalid_adjustment"]
    assert [
        r.error_code for r in run(adjusted("a2", 10, "2025-01-06T12:00", reason=" ")).rejections
    ] == ["invalid_adjustment"]
    assert run.member.balance == 50


def test_adjustment_records_actor_and_reason_and_may_count_toward_tiers() -> None:
    run = Run(program())
    run(sale("r1", "50.00", "2025-01-05T12:00"))
    plain = run(adjusted("a1", 100, "2025-01-06T12:00")).ledger[0]
    assert (plain.kind, plain.points, plain.qualifying_points) == (LedgerKind.ADJUST, 100, 0)
    assert (plain.actor, plain.reason) == ("agent-7", "goodwill")
    counted = run(adjusted("a2", 10_000, "2025-01-06T13:00", qualifying=True))
    assert counted.ledger[0].qualifying_points == 10_000
    assert [c.to_tier for c in counted.tier_changes] == ["Silver"]


def test_negative_qualifying_adjustment_never_goes_below_zero() -> None:
    run = Run(program())
    run(sale("r1", "50.00", "2025-01-05T12:00"))
    out = run(adjusted("a1", -80, "2025-01-06T12:00", qualifying=True))
    assert out.ledger[0].qualifying_points == -50
    assert run.member.qualifying_points == 0
    assert run.member.balance == -30


def test_blocked_member_earns_nothing_and_is_not_credited_later() -> None:
    run = silver_with(10_000)
    balance = run.member.balance
    run(member_event(MemberEventType.BLOCKED, "b1", "2025-02-01T09:00", actor="fraud"))
    out = run(sale("r1", "100.00", "2025-02-01T10:00"))
    entry = out.ledger[0]
    assert (entry.kind, entry.points, entry.qualifying_points, entry.reason) == (
        LedgerKind.NOT_CREDITED,
        0,
        0,
        "blocked",
    )
    assert run(redeemed("e-red", 10, "2025-02-01T11:00")).ledger[0].reason == "blocked"
    run(member_event(MemberEventType.UNBLOCKED, "u1", "2025-02-02T09:00", actor="fraud"))
    assert run.member.status is MemberStatus.ACTIVE
    assert run.member.balance == balance
    assert run(sale("r2", "100.00", "2025-02-02T10:00")).ledger[0].points == 150


def test_no_notification_for_a_blocked_member() -> None:
    run = Run(program())
    run(enrolled("e1", "2025-01-01T09:00"))
    run(sale("r1", "10000.00", "2025-01-05T12:00"))
    run(member_event(MemberEventType.BLOCKED, "b1", "2025-01-06T09:00", actor="fraud"))
    out = run(sale("r2", "1.00", "2026-01-06T12:00"))
    assert [c.to_tier for c in out.tier_changes] == ["Member"]
    assert out.notifications == []


def test_anonymized_member_is_erased_and_closed_for_good() -> None:
    run = Run(program())
    run(enrolled("e1", "2025-01-01T09:00"))
    run(sale("r1", "100.00", "2025-01-05T12:00"))
    closed = run(member_event(MemberEventType.ANONYMIZED, "an1", "2025-01-06T09:00", actor="dpo"))
    member = run.member
    assert (member.name, member.email, member.phone) == (None, None, None)
    assert member.status is MemberStatus.CLOSED
    assert [(e.kind, e.points, e.reason) for e in closed.ledger] == [
        (LedgerKind.ADJUST, -100, "membership_closed")
    ]
    assert b"ana@example.com" not in member.to_bytes()
    later = run(sale("r2", "100.00", "2025-01-07T12:00"))
    assert [(e.kind, e.points, e.reason) for e in later.ledger] == [
        (LedgerKind.NOT_CREDITED, 0, "closed")
    ]
    again = run(enrolled("e2", "2025-01-08T09:00"))
    assert [r.error_code for r in again.rejections] == ["member_closed"]
    assert run.member.status is MemberStatus.CLOSED
    assert run.member.email is None
    view = member_view(run.member, run.program, date(2025, 1, 8))
    assert (view.status, view.name, view.email, view.phone) == ("closed", None, None, None)


def test_auto_enroll_off_refuses_a_receipt_for_an_unknown_member() -> None:
    run = Run(program(auto_enroll=False))
    out = run(sale("r1", "10.00", "2025-01-05T12:00"))
    assert [r.error_code for r in out.rejections] == ["unknown_member"]
    assert not run.member.is_member
    run(enrolled("e1", "2025-01-06T09:00"))
    assert run(sale("r2", "10.00", "2025-01-06T12:00")).ledger[0].points == 10


def test_member_events_for_an_unknown_member_are_refused() -> None:
    run = Run(program())
    out = run(redeemed("e-red", 10, "2025-01-06T12:00"))
    assert [r.error_code for r in out.rejections] == ["unknown_member"]


def test_enrollment_after_auto_enrollment_keeps_the_earlier_date_and_adds_contacts() -> None:
    run = Run(program())
    run(sale("r1", "10.00", "2025-01-05T12:00"))
    run(enrolled("e1", "2025-01-06T09:00"))
    assert run.member.enrolled_at is not None
    assert run.member.enrolled_at.isoformat() == "2025-01-05T12:00:00+00:00"
    assert run.member.email == "ana@example.com"


def test_profile_update_changes_only_given_fields() -> None:
    run = Run(program())
    run(enrolled("e1", "2025-01-01T09:00"))
    run(member_event(MemberEventType.PROFILE_UPDATED, "p1", "2025-01-02T09:00", phone="+1999"))
    assert (run.member.email, run.member.phone) == ("ana@example.com", "+1999")
