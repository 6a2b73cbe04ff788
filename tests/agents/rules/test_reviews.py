"""Daily reviews: roll-off at local midnight (DST-safe), downgrade policies, holds, versions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from agents.rules import (
    Direction,
    DowngradePolicy,
    MemberState,
    ReviewTick,
    Tier,
    apply,
    member_view,
    next_review_date,
)
from agents.rules.window import add_months, day_start

from .builders import TIERS, Run, enrolled, program, return_of, sale, tick, version

SANTIAGO = "America/Santiago"


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)
    assert add_months(date(2024, 12, 15), 1) == date(2025, 1, 15)


def test_local_day_without_a_midnight_starts_at_the_first_existing_moment() -> None:
    start = day_start(date(2025, 9, 7), ZoneInfo(SANTIAGO))
    assert start.isoformat() == "2025-09-07T04:00:00+00:00"  # 01:00 -03, midnight skipped


def santiago_silver() -> Run:
    run = Run(program(timezone=SANTIAGO))
    run(enrolled("e1", "2024-09-01T10:00-04:00"))
    run(sale("r1", "10000.00", "2024-09-07T12:00-04:00"))
    assert run.member.tier == "Silver"
    return run


def test_window_rolls_off_at_local_midnight_across_the_dst_jump() -> None:
    run = santiago_silver()
    before = run(sale("r2", "10.00", "2025-09-07T03:59:59+00:00"))  # 2025-09-06 23:59:59 -04
    assert not before.tier_changes
    assert before.ledger[0].points == 15  # still Silver (x1.5)
    assert next_review_date(run.member, run.program) == date(2025, 9, 7)

    reviewed = run(tick("2025-09-07"))
    assert [(c.from_tier, c.to_tier, c.direction) for c in reviewed.tier_changes] == [
        ("Silver", "Member", Direction.DOWN)
    ]
    assert reviewed.tier_changes[0].effective_at == datetime.fromisoformat(
        "2025-09-07T04:00:00+00:00"
    )
    assert reviewed.tier_changes[0].event_id == "m1:review:2025-09-07:TIER"
    state_after_first = run.member.to_bytes()
    again = run(tick("2025-09-07"))
    assert not again
    assert run.member.to_bytes() == state_after_first
    assert sum(len(out.tier_changes) for out in run.outputs) == 2  # the upgrade, one downgrade


def test_a_receipt_after_local_midnight_runs_the_review_first() -> None:
    run = santiago_silver()
    out = run(sale("r2", "10.00", "2025-09-07T04:00:00+00:00"))  # 01:00 -03 on 2025-09-07
    assert [c.to_tier for c in out.tier_changes] == ["Member"]
    assert out.ledger[0].points == 10  # earned at Member: the review came first
    assert not run(tick("2025-09-07")).tier_changes


def test_feb_29_points_count_until_feb_28_next_year() -> None:
    run = Run(program())
    run(sale("r1", "10000.00", "2024-02-29T12:00"))
    assert not run(tick("2025-02-27")).tier_changes
    assert member_view(run.member, run.program, date(2025, 2, 27)).qualifying_points == 10_000
    out = run(tick("2025-02-28"))
    assert [c.to_tier for c in out.tier_changes] == ["Member"]
    assert run.member.qualifying_points == 0


def gold_then_nothing(policy: DowngradePolicy, **fields: object) -> Run:
    run = Run(program(downgrade_policy=policy, **fields))
    run(sale("r1", "30000.00", "2025-01-10T12:00"))
    assert run.member.tier == "Gold"
    return run


def test_recalculate_drops_several_levels_at_once() -> None:
    run = gold_then_nothing(DowngradePolicy.RECALCULATE)
    out = run(tick("2026-01-10"))
    assert [(c.from_tier, c.to_tier) for c in out.tier_changes] == [("Gold", "Member")]


def test_one_down_drops_one_level_per_review() -> None:
    run = gold_then_nothing(DowngradePolicy.ONE_DOWN)
    out = run(tick("2026-01-10"))
    assert [(c.from_tier, c.to_tier, c.reason) for c in out.tier_changes] == [
        ("Gold", "Silver", "review_one_down")
    ]
    # Still above what the window supports: the next step is one month later.
    assert next_review_date(run.member, run.program) == date(2026, 2, 10)
    assert not run(tick("2026-02-09"))
    assert [c.to_tier for c in run(tick("2026-02-10")).tier_changes] == ["Member"]
    assert next_review_date(run.member, run.program) is None


def test_one_down_stops_at_the_supported_tier() -> None:
    run = Run(program(downgrade_policy=DowngradePolicy.ONE_DOWN))
    run(sale("r1", "15000.00", "2025-01-10T12:00"), sale("r2", "12000.00", "2025-03-10T12:00"))
    assert run.member.tier == "Gold"
    out = run(tick("2026-01-10"))
    assert [c.to_tier for c in out.tier_changes] == ["Silver"]
    # r2's points come within 30 days of leaving on 2026-02-08: a review that changes no tier.
    assert next_review_date(run.member, run.program) == date(2026, 2, 8)
    assert not run(tick("2026-02-08")).tier_changes
    assert next_review_date(run.member, run.program) == date(2026, 3, 10)


def test_hold_months_keeps_a_reached_tier() -> None:
    run = Run(program(hold_months=6))
    run(sale("r1", "10000.00", "2025-01-10T12:00"))
    run(return_of("x1", "r1", "10000.00", "2025-01-11T12:00"))
    assert not run(tick("2025-01-12")).tier_changes
    assert next_review_date(run.member, run.program) == date(2025, 7, 10)
    assert not run(tick("2025-07-09"))
    assert [c.to_tier for c in run(tick("2025-07-10")).tier_changes] == ["Member"]


def test_same_tick_twice_changes_nothing() -> None:
    run = gold_then_nothing(DowngradePolicy.RECALCULATE)
    first_state, first = apply(run.member, ReviewTick(date(2026, 1, 10)), run.program)
    second_state, second = apply(first_state, ReviewTick(date(2026, 1, 10)), run.program)
    assert first.tier_changes and not second
    assert second_state == first_state


def test_an_old_tick_changes_nothing() -> None:
    run = gold_then_nothing(DowngradePolicy.RECALCULATE)
    run(tick("2026-01-10"))
    before = run.member
    assert not run(tick("2025-12-01"))
    assert run.member == before


def test_reviews_run_in_date_order_when_event_time_jumps() -> None:
    run = Run(program(expiry_months=6))
    run(sale("r1", "10000.00", "2025-01-10T12:00"), sale("r2", "20000.00", "2025-02-10T12:00"))
    out = run(sale("r3", "1.00", "2026-03-01T12:00"))
    assert [(c.to_tier, c.effective_at.date().isoformat()) for c in out.tier_changes] == [
        ("Silver", "2026-01-10"),
        ("Member", "2026-02-10"),
    ]
    expiries = [e for e in out.ledger if e.kind.value == "EXPIRE"]
    assert [(e.points, e.occurred_at.date().isoformat()) for e in expiries] == [
        (-10_000, "2025-07-10"),
        (-30_000, "2025-08-10"),  # 20,000 base at Silver x1.5,
    ]


def test_next_review_date_is_the_first_roll_off_or_30_days_before_one() -> None:
    run = Run(program())
    run(sale("r1", "5.00", "2025-01-10T12:00"), sale("r2", "5.00", "2025-03-01T12:00"))
    # r1 leaves the window on 2026-01-10: at risk from 2025-12-11, which the member's
    # snapshot shows once that day's review has run.
    assert next_review_date(run.member, run.program) == date(2025, 12, 11)
    run(tick("2025-12-11"))
    assert next_review_date(run.member, run.program) == date(2026, 1, 10)
    run(tick("2026-01-10"))
    assert next_review_date(run.member, run.program) == date(2026, 1, 30)  # r2 at risk
    assert next_review_date(MemberState.unknown("x"), run.program) is None


def two_versions(effective: datetime) -> Run:
    v1 = version()
    v2 = version(
        effective_from=effective,
        points_per_unit=Decimal(2),
        tiers=(TIERS[0], Tier("Silver", 5_000, Decimal("1.5")), TIERS[2]),
    )
    run = Run(program(v1, v2, timezone="America/New_York"))
    run(sale("r1", "6000.00", "2025-05-20T12:00-04:00"))
    assert run.member.tier == "Member"
    return run


def test_threshold_change_applies_at_the_next_review_and_late_receipts_earn_the_old_way() -> None:
    run = two_versions(datetime(2025, 6, 1))
    assert next_review_date(run.member, run.program) == date(2025, 6, 1)
    out = run(tick("2025-06-01"))
    assert [(c.to_tier, c.reason) for c in out.tier_changes] == [("Silver", "threshold_change")]
    assert out.tier_changes[0].effective_at.isoformat() == "2025-06-01T04:00:00+00:00"
    late = run(sale("late", "100.00", "2025-05-31T23:30:00-04:00"))
    assert late.ledger[0].points == 150  # v1: 1 point per unit, Silver x1.5
    on_time = run(sale("new", "100.00", "2025-06-01T00:00:00-04:00"))
    assert on_time.ledger[0].points == 300  # v2: 2 points per unit, Silver x1.5


def test_a_version_from_midday_reaches_thresholds_at_the_next_midnight() -> None:
    run = two_versions(datetime(2025, 6, 1, 12, 0))
    assert next_review_date(run.member, run.program) == date(2025, 6, 2)
    assert not run(tick("2025-06-01")).tier_changes
    assert [c.to_tier for c in run(tick("2025-06-02")).tier_changes] == ["Silver"]


def test_one_down_drops_a_level_at_each_review_with_a_roll_off() -> None:
    run = Run(program(downgrade_policy=DowngradePolicy.ONE_DOWN))
    run(sale("r1", "26000.00", "2025-01-10T12:00"), sale("r2", "1.00", "2025-01-20T12:00"))
    assert run.member.tier == "Gold"
    assert [c.to_tier for c in run(tick("2026-01-10")).tier_changes] == ["Silver"]
    assert [c.to_tier for c in run(tick("2026-01-20")).tier_changes] == ["Member"]


def test_a_shorter_window_in_a_new_version_applies_at_its_first_review() -> None:
    v1 = version(window_months=12)
    v2 = version(effective_from=datetime(2025, 9, 1), window_months=6)
    run = Run(program(v1, v2))
    run(sale("r1", "10000.00", "2025-01-15T12:00"))
    assert run.member.tier == "Silver"
    out = run(tick("2025-09-01"))
    assert [(c.to_tier, c.effective_at.date().isoformat()) for c in out.tier_changes] == [
        ("Member", "2025-09-01")
    ]
    assert run.member.qualifying_points == 0


def test_one_down_waits_for_the_hold_then_steps() -> None:
    run = Run(program(downgrade_policy=DowngradePolicy.ONE_DOWN, hold_months=3))
    run(sale("r1", "30000.00", "2025-01-10T12:00"))
    run(return_of("x1", "r1", "30000.00", "2025-01-11T12:00"))
    assert not run(tick("2025-04-09")).tier_changes
    assert [c.to_tier for c in run(tick("2025-04-10")).tier_changes] == ["Silver"]
    assert next_review_date(run.member, run.program) == date(2025, 5, 10)
    assert [c.to_tier for c in run(tick("2025-05-10")).tier_changes] == ["Member"]
