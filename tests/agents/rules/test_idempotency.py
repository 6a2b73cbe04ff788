"""Idempotency: same id and content is a no-op; different content is refused; a horizon."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from agents.rules import Campaign, apply

from .builders import Run, adjusted, program, redeemed, sale, version


def test_duplicate_receipt_emits_nothing_the_second_time() -> None:
    run = Run(program())
    first = run(sale("r1", "10000.00", "2025-01-05T12:00"))
    assert first.ledger and first.tier_changes
    state = run.member
    assert not run(sale("r1", "10000.00", "2025-01-05T12:00"))
    assert run.member == state


def test_same_money_written_differently_is_the_same_content() -> None:
    run = Run(program())
    receipt = sale("r1", "10.00", "2025-01-05T12:00")
    run(receipt)
    same = replace(receipt, total=Decimal("10.0"))
    assert not run(same)


def test_conflicting_duplicate_is_refused_and_the_first_stands() -> None:
    run = Run(program())
    run(sale("r1", "10.00", "2025-01-05T12:00"))
    out = run(sale("r1", "99.00", "2025-01-05T12:00"))
    assert [(r.error_code, r.subject.receipt_id) for r in out.rejections] == [
        ("conflicting_duplicate", "r1")
    ]
    assert not out.ledger
    assert run.member.balance == 10


def test_duplicate_member_event_is_a_noop_and_a_conflicting_one_refused() -> None:
    run = Run(program())
    run(sale("r1", "100.00", "2025-01-05T12:00"))
    assert run(redeemed("e1", 30, "2025-01-06T12:00")).ledger
    assert not run(redeemed("e1", 30, "2025-01-06T12:00"))
    out = run(redeemed("e1", 40, "2025-01-06T12:00"))
    assert [r.error_code for r in out.rejections] == ["conflicting_duplicate"]
    assert run.member.balance == 70


def test_a_refused_redemption_is_also_remembered() -> None:
    run = Run(program())
    run(sale("r1", "10.00", "2025-01-05T12:00"))
    assert run(redeemed("e1", 30, "2025-01-06T12:00")).ledger
    assert not run(redeemed("e1", 30, "2025-01-06T12:00"))


def test_apply_never_mutates_the_state_it_is_given() -> None:
    prog = program()
    state, _ = apply(None, sale("r1", "10.00", "2025-01-05T12:00"), prog)
    frozen = state.to_bytes()
    apply(state, sale("r2", "10000.00", "2025-01-06T12:00"), prog)
    apply(state, adjusted("a1", -5, "2025-01-07T12:00", qualifying=True), prog)
    assert state.to_bytes() == frozen


def test_receipts_are_remembered_for_the_window_then_older_ones_are_refused() -> None:
    run = Run(program(window_months=12))
    run(sale("r1", "10.00", "2025-01-05T12:00"))
    run(sale("r2", "10.00", "2026-01-04T12:00"))
    assert set(run.member.receipts) == {"r1", "r2"}
    assert not run(sale("r1", "10.00", "2025-01-05T12:00"))  # still remembered
    run(sale("r3", "10.00", "2026-01-05T12:00"))
    assert not run(sale("r1", "10.00", "2025-01-05T12:00"))  # past the horizon, still held
    run(sale("r4", "10.00", "2026-02-01T12:00"))  # a new month: pruning runs
    assert set(run.member.receipts) == {"r2", "r3", "r4"}
    out = run(sale("r1", "10.00", "2025-01-05T12:00"))
    assert [r.error_code for r in out.rejections] == ["stale_event"]
    assert not out.ledger


def _wine_in(starts: datetime, ends: datetime) -> Campaign:
    return Campaign(
        id="c-wine", name="Double wine", starts=starts, ends=ends, bonus_multiplier=Decimal(1)
    )


def test_campaign_total_is_kept_while_a_receipt_inside_the_campaign_could_still_arrive() -> None:
    march = _wine_in(datetime(2025, 3, 1), datetime(2025, 4, 1))
    run = Run(program(campaigns=(march,)))
    run(sale("r1", "10.00", "2025-03-05T12:00"))
    assert run.member.campaign_bonus == {"c-wine": 10}
    # March 2026: the 12-month horizon starts 2025-03-02, before the campaign's end.
    run(sale("r2", "1.00", "2026-03-15T12:00"))
    assert run.member.campaign_bonus == {"c-wine": 10}
    # May 2026: the horizon starts 2025-05-02, after the campaign ended; its total goes.
    run(sale("r3", "1.00", "2026-05-10T12:00"))
    assert run.member.campaign_bonus == {}


def test_campaign_total_is_kept_while_any_version_still_runs_the_campaign() -> None:
    first = version(campaigns=(_wine_in(datetime(2025, 3, 1), datetime(2025, 4, 1)),))
    extended = version(
        effective_from=datetime(2025, 6, 1),
        campaigns=(_wine_in(datetime(2025, 3, 1), datetime(2025, 12, 1)),),
    )
    run = Run(program(first, extended))
    run(sale("r1", "10.00", "2025-03-05T12:00"))
    run(sale("r2", "1.00", "2026-05-10T12:00"))
    assert run.member.campaign_bonus == {"c-wine": 10}
    run(sale("r3", "1.00", "2027-01-10T12:00"))
    assert run.member.campaign_bonus == {}
