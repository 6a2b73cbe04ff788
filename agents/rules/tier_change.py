"""Moving a member between tiers: the change, the entry bonus, the hold, the notifications."""

from __future__ import annotations

from datetime import date, datetime

from agents.rules.ledger import post
from agents.rules.lots import credit_lot
from agents.rules.notify import tier_change_notifications
from agents.rules.outputs import Direction, LedgerKind, Outputs, TierChange
from agents.rules.program import ProgramVersion
from agents.rules.state import MemberState, MemberStatus
from agents.rules.tiers import rate_label, supported_tier_index, tier_index
from agents.rules.window import add_months


def upgrade_if_reached(
    state: MemberState,
    out: Outputs,
    version: ProgramVersion,
    *,
    day: date,
    at: datetime,
    source: str,
    receipt_id: str | None = None,
    event_id: str | None = None,
) -> None:
    """Real-time upgrade: qualifying points now reach a higher tier (never a downgrade here).
    `receipt_id` or `event_id`: the input that caused it, named by the entry bonus."""
    if state.status is not MemberStatus.ACTIVE:
        return  # blocked and closed members do not move up; a review settles them later
    supported = supported_tier_index(version, state.qualifying_points)
    current = tier_index(version, state.tier)
    if current is None or supported > current:
        change_tier(
            state,
            out,
            version,
            supported,
            day=day,
            at=at,
            source=source,
            reason="qualifying_points_reached",
            receipt_id=receipt_id,
            event_id=event_id,
        )


def change_tier(
    state: MemberState,
    out: Outputs,
    version: ProgramVersion,
    to_index: int,
    *,
    day: date,
    at: datetime,
    source: str,
    reason: str,
    receipt_id: str | None = None,
    event_id: str | None = None,
) -> None:
    current = tier_index(version, state.tier)
    up = to_index > current if current is not None else to_index > 0
    target = version.tiers[to_index]
    change = TierChange(
        event_id=f"{source}:TIER",
        member_id=state.member_id,
        from_tier=state.tier,
        to_tier=target.name,
        direction=Direction.UP if up else Direction.DOWN,
        qualifying_points=state.qualifying_points,
        effective_at=at,
        reason=reason,
    )
    state.tier = target.name
    state.next_step_on = None
    if up:
        state.hold_until = add_months(day, version.hold_months) if version.hold_months else None
    else:
        state.hold_until = None
    out.tier_changes.append(change)
    bonus = 0
    if up:
        bonus = award_entry_bonus(
            state,
            out,
            version,
            to_index,
            day=day,
            at=at,
            source=source,
            receipt_id=receipt_id,
            event_id=event_id,
        )
    out.notifications.extend(tier_change_notifications(state, change, version, bonus))


def award_entry_bonus(
    state: MemberState,
    out: Outputs,
    version: ProgramVersion,
    to_index: int,
    *,
    day: date,
    at: datetime,
    source: str,
    receipt_id: str | None = None,
    event_id: str | None = None,
) -> int:
    """The tier's entry bonus, at most once per tier within any window; the entry names the
    receipt or member event that caused the upgrade, if any."""
    target = version.tiers[to_index]
    if target.entry_bonus <= 0 or state.status is not MemberStatus.ACTIVE:
        return 0
    last = state.tier_bonus_on.get(target.name)
    if last is not None and add_months(last, version.window_months) > day:
        return 0
    post(
        state,
        out,
        entry_id=f"{source}:TIER_BONUS",
        occurred_at=at,
        kind=LedgerKind.TIER_BONUS,
        points=target.entry_bonus,
        tier=target.name,
        multiplier=target.multiplier,
        receipt_id=receipt_id,
        event_id=event_id,
        description=f"Welcome to {rate_label(target)}: entry bonus {target.entry_bonus:,}",
    )
    expires_on = add_months(day, version.expiry_months) if version.expiry_months else None
    credit_lot(state, target.entry_bonus, expires_on)
    state.tier_bonus_on[target.name] = day
    return target.entry_bonus
