"""The window arithmetic the rules count with: `first_counted` turns "still inside the window"
into a date comparison, and the window's counts agree with their definitions date by date."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.rules import MemberState, ProgramVersion, Tier
from agents.rules.qualifying import (
    AT_RISK_DAYS,
    next_window_change,
    points_at_risk,
    qualifying_points_on,
)
from agents.rules.tiers import supported_tier_index
from agents.rules.window import add_months, first_counted, leaves_window_on

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
months = st.integers(min_value=1, max_value=36)
booked = st.dictionaries(days, st.integers(min_value=1, max_value=5_000), max_size=12)
SETTINGS = settings(max_examples=300, deadline=None)


@SETTINGS
@given(days, days, months)
def test_a_date_counts_exactly_from_first_counted_on(earned_on: date, day: date, n: int) -> None:
    assert (add_months(earned_on, n) > day) == (earned_on >= first_counted(day, n))


@SETTINGS
@given(booked, days, months)
def test_the_window_counts_agree_with_their_definitions(
    qualifying: dict[date, int], day: date, n: int
) -> None:
    state = MemberState("m", qualifying=qualifying)
    horizon = timedelta(days=AT_RISK_DAYS)
    counted = {e: p for e, p in qualifying.items() if e <= day < leaves_window_on(e, n)}
    assert qualifying_points_on(state, day, n) == sum(counted.values())
    assert points_at_risk(state, day, n) == sum(
        p for e, p in counted.items() if leaves_window_on(e, n) <= day + horizon
    )
    leaving = [leaves_window_on(e, n) for e in qualifying]
    coming_at_risk = [on - horizon for on in leaving if on - horizon > day]
    assert next_window_change(state, day, n) == min(leaving + coming_at_risk, default=None)


@given(st.lists(st.integers(min_value=0, max_value=100_000), min_size=1, max_size=6), st.integers())
def test_the_supported_tier_is_the_highest_threshold_met(thresholds: list[int], qp: int) -> None:
    # Any thresholds (a loaded program's strictly increase; a hand-built one may not).
    tiers = tuple(Tier(f"T{n}", t, Decimal(1)) for n, t in enumerate(thresholds))
    version = ProgramVersion(tiers=tiers)
    met = [index for index, tier in enumerate(tiers) if tier.threshold <= qp]
    assert supported_tier_index(version, qp) == max(met, default=0)
