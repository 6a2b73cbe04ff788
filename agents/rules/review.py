"""The daily review: window roll-off, downgrades, lot expiry, returns that waited too long.

A review of (member, local date) runs once: `reviewed_through` only moves forward, and a
member is reviewed only on dates where something would change (see `next_review_date`),
its member view included: the day points come within 30 days of leaving the window, the
live worker reviews the member, so the member's snapshot shows them at risk.
"""

from __future__ import annotations

from datetime import date, datetime, time

from agents.rules.idempotency import forget_beyond_horizon
from agents.rules.ledger import post
from agents.rules.lots import expiring_lots
from agents.rules.notify import expiry_reminders
from agents.rules.outputs import LedgerKind, Outputs
from agents.rules.program import DowngradePolicy, Program, ProgramVersion
from agents.rules.qualifying import next_window_change, roll_off
from agents.rules.returns import give_up_waiting_returns, unmatched_on
from agents.rules.state import MemberState, MemberStatus
from agents.rules.tier_change import change_tier
from agents.rules.tiers import current_tier, supported_tier_index, tier_index
from agents.rules.window import ONE_DAY, add_months, day_start, days_delta, review_date_of


def version_on(program: Program, day: date) -> ProgramVersion:
    """The version a review of `day` uses: the one in force at the local midnight."""
    if len(program.versions) == 1:
        return program.versions[0]  # the usual program: no midnight to build
    return program.version_at(datetime.combine(day, time(0)))


def next_review_date(state: MemberState, program: Program) -> date | None:
    """The earliest local date after the last review on which a review would change something.

    Something overdue (a late receipt's lot already past its expiry, say) is due the day after
    the last review.
    """
    through = state.reviewed_through
    if through is None or not state.is_member:
        return None
    pending = state.pending_returns
    due: list[date] = [unmatched_on(r, program) for r in pending.values()] if pending else []
    if state.status is not MemberStatus.CLOSED:
        version = version_on(program, through)
        window = next_window_change(state, through, version.window_months)
        if window is not None:
            due.append(window)
        if state.lots:
            soonest = min(state.lots)
            due.append(soonest)
            reminder = _next_reminder_date(state, version, through, soonest)
            if reminder is not None:
                due.append(reminder)
        tier_due = _tier_review_due(state, version, through)
        if tier_due is not None:
            due.append(tier_due)
        switch = _next_version_switch(program, through)
        if switch is not None:
            due.append(switch)
    if not due:
        return None
    return max(min(due), through + ONE_DAY)


def _tier_review_due(state: MemberState, version: ProgramVersion, through: date) -> date | None:
    """When a tier above what the window supports may fall: the next day, the end of a hold, or
    a month after the last `one_down` step (any review before that drops a level as well)."""
    current = tier_index(version, state.tier)
    if current == 0:
        return None  # the first tier: nothing to fall to (and no points to count)
    if current is not None and current <= supported_tier_index(version, state.qualifying_points):
        return None
    due = through + ONE_DAY
    if state.hold_until is not None:
        due = max(due, state.hold_until)
    if version.downgrade_policy is DowngradePolicy.ONE_DOWN and state.next_step_on is not None:
        due = max(due, state.next_step_on)
    return due


def _next_reminder_date(
    state: MemberState, version: ProgramVersion, through: date, soonest: date
) -> date | None:
    """The next review after `through` that sends a `points_expiring` reminder (active members,
    reminders configured); `soonest` is the earliest lot's expiry.

    A lot's reminder falls `days` before its expiry; "reminder after `through`" is compared as
    "expiry after `through` + `days`", so the lots are scanned without date arithmetic each,
    and not at all when even the soonest lot's reminder is still ahead (the usual case).
    """
    days = version.templates.expiry_reminder_days
    if version.templates.points_expiring is None or not days:
        return None
    if state.status is not MemberStatus.ACTIVE:
        return None
    lead = days_delta(days)
    later = through + lead
    if soonest > later:
        return soonest - lead
    expiring = [expires_on for expires_on in state.lots if expires_on > later]
    return min(expiring) - lead if expiring else None


def _next_version_switch(program: Program, through: date) -> date | None:
    """A new version's thresholds apply to every member at the first review it is in force."""
    for version in program.versions:
        if version.effective_from is not None:
            on = review_date_of(version.effective_from)
            if on > through:
                return on
    return None


def review_day(state: MemberState, out: Outputs, day: date, program: Program) -> None:
    version = version_on(program, day)
    at = day_start(day, program.zone)
    source = f"{state.member_id}:review:{day.isoformat()}"
    if state.status is not MemberStatus.CLOSED:
        roll_off(state, day, version.window_months)
        review_tier(state, out, version, day=day, at=at, source=source)
        out.notifications.extend(expiry_reminders(state, version, day, at, source))
        expire_lots(state, out, version, day=day, at=at, source=source)
    give_up_waiting_returns(state, out, day, program)
    state.reviewed_through = day


def review_tier(
    state: MemberState,
    out: Outputs,
    version: ProgramVersion,
    *,
    day: date,
    at: datetime,
    source: str,
) -> None:
    """Tiers fall only here: `recalculate` to what the window supports, or `one_down` a level."""
    current = tier_index(version, state.tier)
    supported = supported_tier_index(version, state.qualifying_points)
    if current is None:
        change_tier(
            state, out, version, supported, day=day, at=at, source=source, reason="tier_withdrawn"
        )
    elif supported > current:
        if state.status is MemberStatus.ACTIVE:
            change_tier(
                state,
                out,
                version,
                supported,
                day=day,
                at=at,
                source=source,
                reason="threshold_change",
            )
    elif supported < current:
        if state.hold_until is not None and day < state.hold_until:
            return
        if version.downgrade_policy is DowngradePolicy.ONE_DOWN:
            change_tier(
                state,
                out,
                version,
                current - 1,
                day=day,
                at=at,
                source=source,
                reason="review_one_down",
            )
            if current - 1 > supported:
                state.next_step_on = add_months(day, 1)
        else:
            change_tier(
                state,
                out,
                version,
                supported,
                day=day,
                at=at,
                source=source,
                reason="review_recalculate",
            )


def expire_lots(
    state: MemberState,
    out: Outputs,
    version: ProgramVersion,
    *,
    day: date,
    at: datetime,
    source: str,
) -> None:
    """Lots whose date has come expire; qualifying points are untouched."""
    tier = current_tier(version, state.tier)
    for number, (expires_on, points) in enumerate(expiring_lots(state, day)):
        del state.lots[expires_on]
        post(
            state,
            out,
            entry_id=f"{source}:EXPIRE:{number}",
            occurred_at=at,
            kind=LedgerKind.EXPIRE,
            points=-points,
            tier=tier.name,
            multiplier=tier.multiplier,
            description=f"{points:,} points expired (due {expires_on.isoformat()})",
        )


def run_reviews_through(state: MemberState, out: Outputs, day: date, program: Program) -> None:
    """Run the member's due reviews for local dates up to and including `day`, in date order."""
    through = state.reviewed_through
    if through is not None and day <= through:
        return
    if through is not None:
        while (due := next_review_date(state, program)) is not None and due <= day:
            review_day(state, out, due, program)
    state.reviewed_through = day
    if through is None or (through.year, through.month) != (day.year, day.month):
        # Once a month is enough: records live at most a month past the horizon, and one
        # still held is simply recognized as a duplicate.
        forget_beyond_horizon(state, program)
