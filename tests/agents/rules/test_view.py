"""The member view: next tier, points to it, points at risk in 30 days."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from agents.rules import Tier, member_view, snapshot_date
from agents.rules.tiers import points_to_next_tier

from .builders import TIERS, Run, adjusted, enrolled, program, sale, tick, version


def test_worked_example_next_level() -> None:
    tiers = (TIERS[0], Tier("Silver", 10_000, Decimal("1.5")), Tier("Gold", 50_000, Decimal(2)))
    assert points_to_next_tier(version(tiers=tiers), "Silver", 15_835) == 34_165


def test_view_shows_tier_next_tier_and_points_to_it() -> None:
    run = Run(program())
    run(enrolled("e1", "2025-01-01T09:00"))
    run(sale("r1", "15835.00", "2025-03-01T12:00"))
    view = member_view(run.member, run.program, date(2025, 3, 2))
    assert (view.tier, view.next_tier, view.points_to_next_tier) == ("Silver", "Gold", 9_165)
    assert (view.qualifying_points, view.balance, view.multiplier) == (
        15_835,
        15_835,
        Decimal("1.5"),
    )
    assert (view.status, view.name, view.email) == ("active", "Ana", "ana@example.com")


def test_top_tier_needs_zero() -> None:
    run = Run(program())
    run(sale("r1", "30000.00", "2025-03-01T12:00"))
    view = member_view(run.member, run.program, date(2025, 3, 2))
    assert (view.tier, view.next_tier, view.points_to_next_tier) == ("Gold", None, 0)


def test_points_at_risk_are_those_leaving_within_30_days() -> None:
    run = Run(program())
    run(sale("r1", "100.00", "2025-01-10T12:00"), sale("r2", "50.00", "2025-02-20T12:00"))
    assert member_view(run.member, run.program, date(2025, 12, 10)).points_at_risk_30d == 0
    assert member_view(run.member, run.program, date(2025, 12, 11)).points_at_risk_30d == 100
    view = member_view(run.member, run.program, date(2026, 1, 25))
    assert (view.qualifying_points, view.points_at_risk_30d) == (50, 50)


def test_a_snapshot_after_a_late_receipt_still_counts_points_booked_on_a_later_day() -> None:
    # Seen in the worker-crash test: an adjustment of 2026-08-28 was applied before a
    # receipt of 2026-08-27 (another topic ran ahead). Viewed as of the receipt's day, the
    # snapshot left the adjustment's qualifying points out; the replay counted them.
    run = Run(program())
    run(enrolled("e1", "2026-06-01T09:00"))
    run(adjusted("a1", 84, "2026-08-28T19:09", qualifying=True))
    run(sale("r1", "141.00", "2026-08-27T15:19"))
    day = snapshot_date(run.member, date(2026, 8, 27))
    assert day == date(2026, 8, 28)
    assert member_view(run.member, run.program, day).qualifying_points == 225
    assert member_view(run.member, run.program, date(2026, 8, 27)).qualifying_points == 141


def test_a_snapshot_is_never_viewed_before_the_last_review() -> None:
    run = Run(program())
    run(enrolled("e1", "2025-01-01T09:00"), sale("r1", "100.00", "2025-03-01T12:00"))
    run(tick("2025-03-10"))
    assert snapshot_date(run.member, date(2025, 3, 5)) == date(2025, 3, 10)
    assert snapshot_date(run.member, date(2025, 3, 12)) == date(2025, 3, 12)
