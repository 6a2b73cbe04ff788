"""Qualifying points: booked per local date, counted while inside the rolling window."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from agents.rules.points import floor_points
from agents.rules.program import QualifyingBasis
from agents.rules.state import MemberState
from agents.rules.window import first_counted, leaves_window_on


def qualifying_for_sale(basis: QualifyingBasis, base: int, earned: int, eligible: Decimal) -> int:
    """What one sale adds toward tiers under the program's basis."""
    if basis is QualifyingBasis.BASE:
        return base
    if basis is QualifyingBasis.EARNED:
        return earned
    if basis is QualifyingBasis.SPEND:
        return floor_points(eligible)
    return 1


def book(state: MemberState, earned_on: date, points: int, window_months: int) -> int:
    """Book qualifying points on a local date; returns what was booked.

    Points whose window has already closed (a receipt arriving after its date left the
    window) are not booked: they would never count.
    """
    if points <= 0:
        return 0
    if (
        state.reviewed_through is not None
        and leaves_window_on(earned_on, window_months) <= state.reviewed_through
    ):
        return 0
    state.qualifying[earned_on] = state.qualifying.get(earned_on, 0) + points
    return points


def take_back(state: MemberState, earned_on: date, points: int) -> int:
    """Take qualifying points back from the date they were booked on (never below zero)."""
    available = state.qualifying.get(earned_on, 0)
    taken = min(points, available)
    if taken <= 0:
        return 0
    if taken == available:
        del state.qualifying[earned_on]
    else:
        state.qualifying[earned_on] = available - taken
    return taken


def take_newest_first(state: MemberState, points: int) -> int:
    """A negative correction: taken from the most recent dates, never below zero."""
    taken = 0
    for earned_on in sorted(state.qualifying, reverse=True):
        if taken >= points:
            break
        taken += take_back(state, earned_on, points - taken)
    return taken


def roll_off(state: MemberState, day: date, window_months: int) -> int:
    """Drop the points that no longer count on `day`; returns how many left."""
    first = first_counted(day, window_months)
    leaving = [earned_on for earned_on in state.qualifying if earned_on < first]
    return sum(state.qualifying.pop(earned_on) for earned_on in leaving)


def qualifying_points_on(state: MemberState, day: date, window_months: int) -> int:
    """Qualifying points that count on local date `day`."""
    if not state.qualifying:
        return 0
    first = first_counted(day, window_months)  # earned_on + window > day, for every date
    return sum(
        [points for earned_on, points in state.qualifying.items() if first <= earned_on <= day]
    )


AT_RISK_DAYS = 30  # the member view's horizon for points at risk
_AT_RISK = timedelta(days=AT_RISK_DAYS)


def points_at_risk(
    state: MemberState, day: date, window_months: int, days: int = AT_RISK_DAYS
) -> int:
    """Qualifying points counted on `day` that leave the window within the next `days` days."""
    if not state.qualifying:
        return 0
    first = first_counted(day, window_months)
    # Leaving by `day + days` is earned_on + window <= day + days: before this date.
    horizon = _AT_RISK if days == AT_RISK_DAYS else timedelta(days=days)
    leaving_before = first_counted(day + horizon, window_months)
    return sum(
        [
            points
            for earned_on, points in state.qualifying.items()
            if first <= earned_on < leaving_before and earned_on <= day
        ]
    )


def next_window_change(state: MemberState, after: date, window_months: int) -> date | None:
    """The first local date after `after` on which the window changes what the member sees:
    qualifying points leave it (roll-off), or come within `AT_RISK_DAYS` of leaving it (the
    view's points at risk grow that day). Can be `after` or before when overdue."""
    if not state.qualifying:
        return None
    earliest = min(state.qualifying)
    leaves = leaves_window_on(earliest, window_months)
    # Leaving after `after` + 30 days is being earned on or after `still_safe`; the earliest
    # such date leaves first (add_months is monotone).
    still_safe = first_counted(after + _AT_RISK, window_months)
    if earliest >= still_safe:
        return leaves - _AT_RISK  # before its roll-off, and the first of all
    safe = [earned_on for earned_on in state.qualifying if earned_on >= still_safe]
    if not safe:
        return leaves
    return min(leaves, leaves_window_on(min(safe), window_months) - _AT_RISK)
