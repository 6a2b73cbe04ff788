"""Member events: enrollment and profile, manual adjustments, redemptions, block, anonymize."""

from __future__ import annotations

from datetime import date

from agents.rules.events import MemberEvent
from agents.rules.ledger import post
from agents.rules.lots import credit_lot, spend_lots
from agents.rules.outputs import LedgerKind, Outputs, Rejection
from agents.rules.program import Program, ProgramVersion
from agents.rules.qualifying import book, take_newest_first
from agents.rules.returns import close_waiting_returns
from agents.rules.state import MemberState, MemberStatus
from agents.rules.tier_change import upgrade_if_reached
from agents.rules.tiers import current_tier
from agents.rules.window import add_months


def refuse(out: Outputs, code: str, message: str, event: MemberEvent) -> bool:
    out.rejections.append(Rejection(code, message, event.member_id, event.occurred_at, event))
    return False


def update_profile(state: MemberState, event: MemberEvent) -> bool:
    """Fields the event carries replace the state's; absent ones (None) stay as they were."""
    if event.name is not None:
        state.name = event.name
    if event.email is not None:
        state.email = event.email
    if event.phone is not None:
        state.phone = event.phone
    if event.consent_email is not None:
        state.consent_email = event.consent_email
    if event.consent_sms is not None:
        state.consent_sms = event.consent_sms
    return True


def enroll(state: MemberState, event: MemberEvent) -> bool:
    """Enrollment: profile and consents; a member enrolled by a receipt keeps the earlier date."""
    if state.enrolled_at is None or event.occurred_at < state.enrolled_at:
        state.enrolled_at = event.occurred_at
    return update_profile(state, event)


def adjust_points(
    state: MemberState, out: Outputs, event: MemberEvent, version: ProgramVersion, day: date
) -> bool:
    """A manual, signed adjustment with actor and reason; optionally toward qualifying points."""
    if event.points is None or not (event.actor or "").strip() or not (event.reason or "").strip():
        return refuse(
            out,
            "invalid_adjustment",
            f"adjustment {event.event_id}: points, actor and reason are all required",
            event,
        )
    points = event.points
    qualifying = 0
    if event.counts_toward_qualifying:
        if points > 0:
            qualifying = book(state, day, points, version.window_months)
        else:
            qualifying = -take_newest_first(state, -points)
    tier = current_tier(version, state.tier)
    post(
        state,
        out,
        entry_id=f"{event.event_id}:ADJUST",
        occurred_at=event.occurred_at,
        kind=LedgerKind.ADJUST,
        points=points,
        qualifying_points=qualifying,
        tier=tier.name,
        multiplier=tier.multiplier,
        event_id=event.event_id,
        description=f"Manual adjustment {points:+,} by {event.actor}: {event.reason}",
        actor=event.actor,
        reason=event.reason,
    )
    if points > 0:
        expires_on = add_months(day, version.expiry_months) if version.expiry_months else None
        credit_lot(state, points, expires_on)
    else:
        spend_lots(state, -points)
    if qualifying > 0:
        _upgrade_if_reached(state, out, version, day, event)
    return True


def redeem(state: MemberState, out: Outputs, event: MemberEvent, version: ProgramVersion) -> bool:
    """Spend points (soonest-expiring lots first); refused with 0 points if blocked or too few."""
    if event.points is None or event.points <= 0:
        return refuse(
            out,
            "invalid_redemption",
            f"redemption {event.event_id}: points must be a positive number",
            event,
        )
    tier = current_tier(version, state.tier)
    reward = f" for reward {event.reward_id}" if event.reward_id else ""
    refused_because = None
    if state.status is MemberStatus.BLOCKED:
        refused_because = "blocked"
    elif state.balance < event.points:
        refused_because = "insufficient_balance"
    if refused_because is not None:
        post(
            state,
            out,
            entry_id=f"{event.event_id}:REDEMPTION_REFUSED",
            occurred_at=event.occurred_at,
            kind=LedgerKind.REDEMPTION_REFUSED,
            points=0,
            tier=tier.name,
            multiplier=tier.multiplier,
            event_id=event.event_id,
            description=(
                f"Redemption of {event.points:,}{reward} refused: {refused_because} "
                f"(balance {state.balance:,})"
            ),
            reason=refused_because,
        )
        return True
    post(
        state,
        out,
        entry_id=f"{event.event_id}:REDEEM",
        occurred_at=event.occurred_at,
        kind=LedgerKind.REDEEM,
        points=-event.points,
        tier=tier.name,
        multiplier=tier.multiplier,
        event_id=event.event_id,
        description=f"Redeemed {event.points:,}{reward}",
    )
    spend_lots(state, event.points)
    return True


def block(state: MemberState) -> bool:
    state.status = MemberStatus.BLOCKED
    return True


def unblock(
    state: MemberState, out: Outputs, event: MemberEvent, version: ProgramVersion, day: date
) -> bool:
    """Active again; qualifying points adjusted in meanwhile may now reach a higher tier."""
    state.status = MemberStatus.ACTIVE
    _upgrade_if_reached(state, out, version, day, event)
    return True


def anonymize(
    state: MemberState, out: Outputs, event: MemberEvent, version: ProgramVersion, program: Program
) -> bool:
    """Erase personal data and close the membership for good; the balance is written off."""
    if state.status is MemberStatus.CLOSED:
        return True
    state.name = state.email = state.phone = None
    state.consent_email = state.consent_sms = False
    if state.balance != 0:
        tier = current_tier(version, state.tier)
        post(
            state,
            out,
            entry_id=f"{event.event_id}:ADJUST",
            occurred_at=event.occurred_at,
            kind=LedgerKind.ADJUST,
            points=-state.balance,
            tier=tier.name,
            multiplier=tier.multiplier,
            event_id=event.event_id,
            description="Membership closed: balance written off",
            actor=event.actor or "system",
            reason="membership_closed",
        )
    state.status = MemberStatus.CLOSED
    state.qualifying.clear()
    state.lots.clear()
    state.hold_until = state.next_step_on = None
    state.tier_bonus_on.clear()
    state.campaign_bonus.clear()
    close_waiting_returns(state, out, program)
    return True


def _upgrade_if_reached(
    state: MemberState, out: Outputs, version: ProgramVersion, day: date, event: MemberEvent
) -> None:
    """`upgrade_if_reached` caused by a member event (its entry bonus names the event)."""
    upgrade_if_reached(
        state,
        out,
        version,
        day=day,
        at=event.occurred_at,
        source=event.event_id,
        event_id=event.event_id,
    )
