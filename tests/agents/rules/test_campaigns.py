"""Campaigns: targeting by the tier before the receipt, local time, weekdays, lines, caps."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from agents.rules import Campaign, LedgerKind, QualifyingBasis

from .builders import Run, line, program, return_of, sale, silver_with

MARCH = dict(starts=datetime(2025, 3, 1), ends=datetime(2025, 4, 1))


def double_wine(**fields: object) -> Campaign:
    values: dict[str, object] = dict(
        id="c-wine",
        name="Double wine",
        categories=("wine",),
        bonus_multiplier=Decimal(1),
        **MARCH,
    )
    values.update(fields)
    return Campaign(**values)  # type: ignore[arg-type]


def bonuses(out_ledger: list) -> list[tuple[str | None, int]]:  # type: ignore[type-arg]
    return [(e.campaign_id, e.points) for e in out_ledger if e.kind is LedgerKind.CAMPAIGN_BONUS]


def test_bonus_multiplier_doubles_the_base_of_matching_lines() -> None:
    run = Run(program(campaigns=(double_wine(),)))
    out = run(sale("r1", [line("30.50", "wine"), line("20.00")], "2025-03-05T12:00"))
    assert out.ledger[0].points == 50  # EARN: all eligible lines
    assert bonuses(out.ledger) == [("c-wine", 30)]
    assert out.ledger[1].entry_id == "r1:CAMPAIGN:c-wine"


def test_bonus_multiplier_rounds_half_up() -> None:
    campaign = double_wine(bonus_multiplier=Decimal("0.5"), categories=())
    run = Run(program(campaigns=(campaign,)))
    assert bonuses(run(sale("r1", "25.00", "2025-03-05T12:00")).ledger) == [("c-wine", 13)]


def test_campaign_targets_the_tier_before_the_receipt() -> None:
    campaign = double_wine(tiers=("Silver",), categories=())
    run = Run(program(campaigns=(campaign,)))
    crossing = run(sale("r1", "10000.00", "2025-03-05T12:00"))  # Member before: no bonus
    assert bonuses(crossing.ledger) == []
    assert bonuses(run(sale("r2", "10.00", "2025-03-05T13:00")).ledger) == [("c-wine", 10)]


def test_campaign_runs_from_starts_inclusive_to_ends_exclusive_local_time() -> None:
    campaign = double_wine(categories=())
    run = Run(program(campaigns=(campaign,), timezone="America/New_York"))
    # 2025-03-01 00:00 New York is 05:00 UTC; 2025-04-01 00:00 EDT is 04:00 UTC.
    assert bonuses(run(sale("a", "10.00", "2025-03-01T04:59:59+00:00")).ledger) == []
    assert bonuses(run(sale("b", "10.00", "2025-03-01T05:00:00+00:00")).ledger) == [("c-wine", 10)]
    assert bonuses(run(sale("c", "10.00", "2025-04-01T03:59:59+00:00")).ledger) == [("c-wine", 10)]
    assert bonuses(run(sale("d", "10.00", "2025-04-01T04:00:00+00:00")).ledger) == []


def test_campaign_weekdays() -> None:
    campaign = double_wine(categories=(), weekdays=(5, 6))  # weekends
    run = Run(program(campaigns=(campaign,)))
    assert bonuses(run(sale("fri", "10.00", "2025-03-07T12:00")).ledger) == []
    assert bonuses(run(sale("sat", "10.00", "2025-03-08T12:00")).ledger) == [("c-wine", 10)]


def test_campaign_skus_or_categories_match_lines() -> None:
    campaign = double_wine(skus=("CHEESE-1",))
    run = Run(program(campaigns=(campaign,)))
    lines = [line("10.00", "wine"), line("5.00", "deli", "CHEESE-1"), line("7.00", "deli")]
    assert bonuses(run(sale("r1", lines, "2025-03-05T12:00")).ledger) == [("c-wine", 15)]


def test_campaign_ignores_excluded_lines() -> None:
    campaign = double_wine(categories=())
    run = Run(program(campaigns=(campaign,), excluded_categories=frozenset({"tobacco"})))
    lines = [line("10.00"), line("50.00", "tobacco")]
    assert bonuses(run(sale("r1", lines, "2025-03-05T12:00")).ledger) == [("c-wine", 10)]


def test_bonus_points_need_min_spend() -> None:
    campaign = Campaign(
        id="c-500", name="500 over 50", bonus_points=500, min_spend=Decimal("50.00"), **MARCH
    )  # type: ignore[arg-type]
    run = Run(program(campaigns=(campaign,)))
    assert bonuses(run(sale("r1", "49.99", "2025-03-05T12:00")).ledger) == []
    assert bonuses(run(sale("r2", "50.00", "2025-03-05T12:00")).ledger) == [("c-500", 500)]


def test_campaign_capped_per_member() -> None:
    campaign = double_wine(categories=(), max_bonus_per_member=25)
    run = Run(program(campaigns=(campaign,)))
    assert bonuses(run(sale("r1", "10.00", "2025-03-05T12:00")).ledger) == [("c-wine", 10)]
    assert bonuses(run(sale("r2", "10.00", "2025-03-05T12:00")).ledger) == [("c-wine", 10)]
    assert bonuses(run(sale("r3", "10.00", "2025-03-05T12:00")).ledger) == [("c-wine", 5)]
    assert bonuses(run(sale("r4", "10.00", "2025-03-05T12:00")).ledger) == []
    assert run.member.campaign_bonus == {"c-wine": 25}


def test_returned_campaign_bonus_frees_room_under_the_cap() -> None:
    campaign = double_wine(categories=(), max_bonus_per_member=10)
    run = Run(program(campaigns=(campaign,)))
    run(sale("r1", "10.00", "2025-03-05T12:00"))
    back = run(return_of("x1", "r1", "10.00", "2025-03-06T12:00"))
    assert [(e.campaign_id, e.points) for e in back.ledger] == [(None, -10), ("c-wine", -10)]
    assert bonuses(run(sale("r2", "10.00", "2025-03-07T12:00")).ledger) == [("c-wine", 10)]


def test_campaign_bonus_counts_toward_earned_basis_only() -> None:
    run = silver_with(
        10_000, campaigns=(double_wine(categories=()),), qualifying_basis=QualifyingBasis.EARNED
    )
    run(sale("r1", "10.00", "2025-03-05T12:00"))
    assert run.member.qualifying_points == 10_000 + 15 + 10
