"""The core's one entry point: (state, event, program) -> (new state, outputs).

Pure: never reads the clock, does no I/O, never mutates the state it is given. Event time
drives the daily reviews, so the live worker, a replay and an offline run agree.
"""

from __future__ import annotations

from datetime import date, datetime

from agents.rules.earning import earn, not_credited
from agents.rules.events import (
    MemberEvent,
    MemberEventType,
    Receipt,
    ReceiptKind,
    ReviewTick,
)
from agents.rules.idempotency import (
    Seen,
    event_fingerprint,
    event_seen,
    is_stale,
    receipt_fingerprint,
    receipt_seen,
)
from agents.rules.member_events import (
    adjust_points,
    anonymize,
    block,
    enroll,
    redeem,
    refuse,
    unblock,
    update_profile,
)
from agents.rules.outputs import Outputs, Rejection
from agents.rules.program import Program, ProgramVersion
from agents.rules.returns import match_pending_returns, receive_return
from agents.rules.review import run_reviews_through
from agents.rules.state import MemberState, MemberStatus, SeenEvent


def apply(
    state: MemberState | None, event: Receipt | MemberEvent | ReviewTick, program: Program
) -> tuple[MemberState, Outputs]:
    """Apply one event to one member. `state=None`: the member is unknown.

    A `ReviewTick` needs the member's state (it carries no member id) and runs the reviews due
    up to its date. A receipt or member event first runs the reviews due up to its local date.
    """
    out = Outputs()
    if isinstance(event, ReviewTick):
        if state is None:
            raise ValueError("a review tick applies to a known member's state, not to None")
        working = state.copy()
        if working.is_member:
            run_reviews_through(working, out, event.review_date, program)
        return working, out
    local = program.local(event.occurred_at)
    day = local.date()
    version = program.version_at(local)
    if state is not None and state.is_member:
        working = state.copy()
        run_reviews_through(working, out, day, program)
    else:
        opened = open_membership(event, version, day, out)
        if opened is None:
            return MemberState.unknown(event.member_id), out
        working = opened
    if isinstance(event, Receipt):
        receive_receipt(working, out, event, program, version, local)
    else:
        receive_member_event(working, out, event, program, version, day)
    return working, out


def open_membership(
    event: Receipt | MemberEvent, version: ProgramVersion, day: date, out: Outputs
) -> MemberState | None:
    """A first event for an id: auto-enrollment, an enrollment, or a refusal."""
    opens = (
        version.auto_enroll
        if isinstance(event, Receipt)
        else event.type in (MemberEventType.ENROLLED, MemberEventType.ANONYMIZED)
    )
    if not opens:
        out.rejections.append(
            Rejection(
                "unknown_member",
                f"member {event.member_id} is not enrolled (auto_enroll is off or the event "
                "needs a member); enroll the member first",
                event.member_id,
                event.occurred_at,
                event,
            )
        )
        return None
    return MemberState(
        member_id=event.member_id,
        tier=version.tiers[0].name,
        enrolled_at=event.occurred_at,
        reviewed_through=day,
    )


def _refuse_receipt(out: Outputs, code: str, message: str, receipt: Receipt) -> None:
    out.rejections.append(Rejection(code, message, receipt.member_id, receipt.occurred_at, receipt))


def receive_receipt(
    state: MemberState,
    out: Outputs,
    receipt: Receipt,
    program: Program,
    version: ProgramVersion,
    local: datetime,
) -> None:
    """A sale or return: duplicates and refusals first, then earn, not credit, or take back."""
    day = local.date()
    fingerprint = receipt_fingerprint(receipt)
    seen = receipt_seen(state, receipt, fingerprint)
    if seen is Seen.SAME:
        return
    if seen is Seen.CONFLICTING:
        _refuse_receipt(
            out,
            "conflicting_duplicate",
            f"receipt {receipt.receipt_id} was seen with other content; the first version stands",
            receipt,
        )
        return
    if is_stale(state, day, program):
        _refuse_receipt(
            out,
            "stale_event",
            f"receipt {receipt.receipt_id} of {day} is older than the dedupe "
            "horizon; credit it by a manual adjustment if it is genuine",
            receipt,
        )
        return
    if receipt.currency != program.currency:
        _refuse_receipt(
            out,
            "wrong_currency",
            f"receipt {receipt.receipt_id} is in {receipt.currency}, the program "
            f"in {program.currency}",
            receipt,
        )
        return
    if state.status is MemberStatus.CLOSED:
        not_credited(state, out, receipt, version, fingerprint, "closed")
        return
    if receipt.kind is ReceiptKind.RETURN:
        if references_a_sale(state, receipt):
            receive_return(state, out, receipt, program, fingerprint)
        else:
            _refuse_receipt(
                out,
                "invalid_return",
                f"return {receipt.receipt_id} must reference a sale "
                f"(original_receipt_id={receipt.original_receipt_id!r})",
                receipt,
            )
        return
    if state.status is MemberStatus.BLOCKED:
        not_credited(state, out, receipt, version, fingerprint, "blocked")
    else:
        earn(state, out, receipt, version, local, fingerprint)
    match_pending_returns(state, out, receipt.receipt_id, program)


def references_a_sale(state: MemberState, receipt: Receipt) -> bool:
    """A return names another receipt, which is not known to be a return itself."""
    original_id = receipt.original_receipt_id
    if not original_id or original_id == receipt.receipt_id:
        return False
    original = state.receipts.get(original_id)
    return original is None or original.kind is ReceiptKind.SALE


def receive_member_event(
    state: MemberState,
    out: Outputs,
    event: MemberEvent,
    program: Program,
    version: ProgramVersion,
    day: date,
) -> None:
    fingerprint = event_fingerprint(event)
    seen = event_seen(state, event, fingerprint)
    if seen is Seen.SAME:
        return
    if seen is Seen.CONFLICTING:
        refuse(
            out,
            "conflicting_duplicate",
            f"member event {event.event_id} was seen with other content; the first stands",
            event,
        )
        return
    if is_stale(state, day, program):
        refuse(
            out,
            "stale_event",
            f"member event {event.event_id} of {day} is older than the dedupe horizon",
            event,
        )
        return
    if state.status is MemberStatus.CLOSED and event.type is not MemberEventType.ANONYMIZED:
        refuse(
            out,
            "member_closed",
            f"member {event.member_id} is closed (anonymized); the id cannot be reopened",
            event,
        )
        return
    if _member_event(state, out, event, program, version, day):
        state.member_events[event.event_id] = SeenEvent(fingerprint, day.toordinal())


def _member_event(
    state: MemberState,
    out: Outputs,
    event: MemberEvent,
    program: Program,
    version: ProgramVersion,
    day: date,
) -> bool:
    """Dispatch by type; False when the event was refused (it is then not remembered)."""
    kind = event.type
    if kind is MemberEventType.ENROLLED:
        return enroll(state, event)
    if kind is MemberEventType.PROFILE_UPDATED:
        return update_profile(state, event)
    if kind is MemberEventType.POINTS_ADJUSTED:
        return adjust_points(state, out, event, version, day)
    if kind is MemberEventType.POINTS_REDEEMED:
        return redeem(state, out, event, version)
    if kind is MemberEventType.BLOCKED:
        return block(state)
    if kind is MemberEventType.UNBLOCKED:
        return unblock(state, out, event, version, day)
    return anonymize(state, out, event, version, program)
