"""What a member (or support agent) sees: tier, balance, qualifying points, what is next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from agents.rules.program import Program
from agents.rules.qualifying import points_at_risk, qualifying_points_on
from agents.rules.review import version_on
from agents.rules.state import MemberState, MemberStatus
from agents.rules.tiers import current_tier, next_tier, points_to

_STATUS_TEXTS = {status: status.value for status in MemberStatus}  # no `.value` property call


@dataclass(frozen=True, slots=True)
class MemberView:
    member_id: str
    status: str  # 'active' | 'blocked' | 'closed'
    tier: str
    balance: int
    qualifying_points: int
    next_tier: str | None
    points_to_next_tier: int  # 0 at the top tier
    points_at_risk_30d: int  # qualifying points leaving the window in the next 30 days
    enrolled_at: datetime | None
    name: str | None
    email: str | None
    phone: str | None
    multiplier: Decimal


def member_view(state: MemberState, program: Program, as_of: date) -> MemberView:
    """The member as of local date `as_of`: qualifying points counted by the window on that date.

    The tier and balance are the state's (they change only through `apply`).
    """
    version = version_on(program, as_of)
    qualifying = qualifying_points_on(state, as_of, version.window_months)
    upper = next_tier(version, state.tier)
    return MemberView(
        member_id=state.member_id,
        status=_STATUS_TEXTS[state.status],
        tier=state.tier,
        balance=state.balance,
        qualifying_points=qualifying,
        next_tier=upper.name if upper else None,
        points_to_next_tier=points_to(upper, qualifying),
        points_at_risk_30d=points_at_risk(state, as_of, version.window_months),
        enrolled_at=state.enrolled_at,
        name=state.name,
        email=state.email,
        phone=state.phone,
        multiplier=current_tier(version, state.tier).multiplier,
    )


def snapshot_date(state: MemberState, changed_on: date) -> date:
    """The local date a member's snapshot is viewed as of, after a change on `changed_on`:
    that date, or a later one the state already reflects (its last review, or points booked
    on a later date by an event applied before this one, as when a member event runs ahead
    of a receipt). A snapshot never counts the window as of a day before points the member
    already holds."""
    latest = max(state.qualifying, default=changed_on)
    return max(changed_on, latest, state.reviewed_through or changed_on)
