"""Decisions taken where the spec is silent (docs/rules.md), one test each."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from agents.rules import (
    LedgerKind,
    MemberEventType,
    MemberStatus,
    ReviewTick,
    Tier,
    apply,
)

from .builders import (
    TIERS,
    Run,
    adjusted,
    enrolled,
    line,
    member_event,
    program,
    return_of,
    sale,
    tick,
    version,
)


def test_a_tick_needs_a_known_member() -> None:
    with pytest.raises(ValueError, match="known member"):
        apply(None, ReviewTick(date(2025, 1, 1)), program())


def test_receipt_in_another_currency_is_refused() -> None:
    run = Run(program())
    out = run(replace(sale("r1", "10.00", "2025-01-05T12:00"), currency="EUR"))
    assert [r.error_code for r in out.rejections] == ["wrong_currency"]
    assert not out.ledger


def test_qualifying_adjustment_while_blocked_upgrades_on_unblock() -> None:
    run = Run(program())
    run(enrolled("e1", "2025-01-01T09:00"))
    run(member_event(MemberEventType.BLOCKED, "b1", "2025-01-02T09:00", actor="fraud"))
    blocked = run(adjusted("a1", 10_000, "2025-01-03T09:00", qualifying=True))
    assert not blocked.tier_changes
    out = run(member_event(MemberEventType.UNBLOCKED, "u1", "2025-01-04T09:00", actor="fraud"))
    assert [(c.to_tier, c.event_id) for c in out.tier_changes] == [("Silver", "u1:TIER")]


def test_anonymizing_an_unknown_id_closes_it() -> None:
    run = Run(program())
    assert not run(member_event(MemberEventType.ANONYMIZED, "an1", "2025-01-01T09:00"))
    assert run.member.status is MemberStatus.CLOSED
    out = run(sale("r1", "10.00", "2025-01-05T12:00"))
    assert [(e.kind, e.reason) for e in out.ledger] == [(LedgerKind.NOT_CREDITED, "closed")]


def test_closing_dead_letters_waiting_returns() -> None:
    run = Run(program())
    run(sale("r1", "10.00", "2025-01-05T12:00"))
    run(return_of("x1", "r-missing", "5.00", "2025-01-06T12:00"))
    out = run(member_event(MemberEventType.ANONYMIZED, "an1", "2025-01-07T09:00", actor="dpo"))
    assert [(r.error_code, r.subject.receipt_id) for r in out.rejections] == [
        ("unmatched_return", "x1")
    ]
    assert run.member.pending_returns == {}
    assert run.member.balance == 0


def test_late_receipt_after_its_window_closed_books_no_qualifying_points() -> None:
    run = Run(program(window_months=3))
    run(sale("r1", "10.00", "2025-06-01T12:00"))
    out = run(sale("r0", "50.00", "2025-02-15T12:00"))  # left a 3-month window on 05-15
    assert (out.ledger[0].points, out.ledger[0].qualifying_points) == (50, 0)
    assert run.member.qualifying_points == 10


def test_late_receipt_inside_the_window_counts_on_its_own_date() -> None:
    run = Run(program())
    run(sale("r1", "10.00", "2025-06-01T12:00"))
    run(sale("r0", "50.00", "2025-05-15T12:00"))
    assert {d.isoformat(): p for d, p in run.member.qualifying.items()} == {
        "2025-06-01": 10,
        "2025-05-15": 50,
    }


def test_withdrawn_tier_is_replaced_at_the_next_review() -> None:
    old = version()
    new = version(
        effective_from=datetime(2025, 6, 1),
        tiers=(TIERS[0], Tier("Argent", 10_000, Decimal("1.5")), TIERS[2]),
    )
    run = Run(program(old, new))
    run(sale("r1", "12000.00", "2025-05-01T12:00"))
    assert run.member.tier == "Silver"
    out = run(tick("2025-06-01"))
    assert [(c.from_tier, c.to_tier, c.reason) for c in out.tier_changes] == [
        ("Silver", "Argent", "tier_withdrawn")
    ]


def test_stale_member_event_is_refused() -> None:
    run = Run(program(window_months=3))
    run(sale("r1", "10.00", "2025-06-01T12:00"))
    assert not run(adjusted("a-recent", 10, "2025-01-01T12:00")).rejections  # a year at least
    out = run(adjusted("a-old", 10, "2024-06-01T12:00"))
    assert [r.error_code for r in out.rejections] == ["stale_event"]


def test_closed_member_events_are_refused() -> None:
    run = Run(program())
    run(enrolled("e1", "2025-01-01T09:00"))
    run(member_event(MemberEventType.ANONYMIZED, "an1", "2025-01-02T09:00", actor="dpo"))
    out = run(adjusted("a1", 10, "2025-01-03T09:00"))
    assert [r.error_code for r in out.rejections] == ["member_closed"]


def test_returning_a_return_is_refused_but_a_waiting_return_is_not() -> None:
    run = Run(program())
    out = run(return_of("x1", "x1", "5.00", "2025-01-06T12:00"))
    assert [r.error_code for r in out.rejections] == ["invalid_return"]


def test_discount_lines_lower_the_eligible_amount() -> None:
    run = Run(program())
    out = run(sale("r1", [line("100.00"), line("-20.00", "discount")], "2025-01-06T12:00"))
    assert out.ledger[0].points == 80
