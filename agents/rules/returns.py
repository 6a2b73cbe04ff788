"""Returns: points taken back at the original sale's rates, capped per sale; early ones wait.

Each component (the EARN points, each campaign bonus, the qualifying points) is taken back in
proportion to the eligible amount returned so far, cumulatively: after returns covering a
fraction f of the sale, round-half-up(component x f) has been taken in total. So the total
never exceeds what the sale earned, and three returns of a third take back exactly all of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from agents.rules.earning import split_lines
from agents.rules.events import Receipt, ReceiptKind
from agents.rules.idempotency import receipt_fingerprint
from agents.rules.ledger import post
from agents.rules.lots import spend_lots
from agents.rules.outputs import LedgerKind, Outputs, Rejection
from agents.rules.points import round_half_up
from agents.rules.program import Program, QualifyingBasis, Tier
from agents.rules.qualifying import take_back
from agents.rules.state import MemberState, ReceiptRecord, money_value
from agents.rules.tiers import rate_label
from agents.rules.window import add_months, day_start, days_delta


def receive_return(
    state: MemberState, out: Outputs, receipt: Receipt, program: Program, fingerprint: bytes
) -> None:
    """Apply a return, or hold it until its sale arrives (`returns.match_days`)."""
    original_id = receipt.original_receipt_id or ""
    original = state.receipts.get(original_id)
    if original is None:
        state.pending_returns[receipt.receipt_id] = receipt
        return
    apply_return(state, out, receipt, original_id, original, program, fingerprint)


def _share(points: int, fraction: Decimal, taken: int) -> int:
    """What is still to take back of `points` once `fraction` of the sale has been returned."""
    return max(0, round_half_up(points * fraction) - taken)


@dataclass(frozen=True, slots=True)
class TakeBack:
    """What one return takes back of its sale, each component capped cumulatively."""

    returned: Decimal  # eligible amount of this return
    total_returned: Decimal  # of the sale, this return included
    earned: int
    qualifying: int
    campaigns: tuple[tuple[str, int], ...]


def take_back_of(original: ReceiptRecord, returned: Decimal, basis: QualifyingBasis) -> TakeBack:
    total_returned = original.returned + returned
    eligible = original.eligible
    fraction = min(Decimal(1), total_returned / eligible) if eligible > 0 else Decimal(1)
    if basis is QualifyingBasis.VISITS:
        # A visit is one whole: it is taken back once the whole sale has come back.
        fully = total_returned >= eligible
        qualifying = original.qualifying - original.qualifying_taken if fully else 0
    else:
        qualifying = _share(original.qualifying, fraction, original.qualifying_taken)
    taken_before = dict(original.campaign_taken)
    return TakeBack(
        returned=returned,
        total_returned=total_returned,
        earned=_share(original.earned, fraction, original.earned_taken),
        qualifying=qualifying,
        campaigns=tuple(
            (campaign_id, _share(points, fraction, taken_before.get(campaign_id, 0)))
            for campaign_id, points in original.campaign_points
        ),
    )


def apply_return(
    state: MemberState,
    out: Outputs,
    receipt: Receipt,
    original_id: str,
    original: ReceiptRecord,
    program: Program,
    fingerprint: bytes,
) -> None:
    """Take back what the returned share of the sale earned, at the sale's own rates."""
    sold = program.local(original.occurred_at)
    then = program.version_at(sold)
    rate = then.tiers[min(original.tier_position, len(then.tiers) - 1)]
    lines, _ = split_lines(receipt.lines, then.excluded_categories)
    back = take_back_of(
        original, abs(sum((line.amount for line in lines), Decimal(0))), then.qualifying_basis
    )
    qualifying_removed = take_back(state, sold.date(), back.qualifying)
    post(
        state,
        out,
        entry_id=f"{receipt.receipt_id}:RETURN",
        occurred_at=receipt.occurred_at,
        kind=LedgerKind.RETURN,
        points=-back.earned,
        qualifying_points=-qualifying_removed,
        tier=rate.name,
        multiplier=rate.multiplier,
        receipt_id=receipt.receipt_id,
        description=(
            f"Return {receipt.receipt_id} of sale {original_id}: {back.returned} of "
            f"{original.eligible} eligible returned, taken back at {rate_label(rate)}: "
            f"{back.earned:,}"
        ),
    )
    _take_back_campaign_bonuses(state, out, receipt, back, rate)
    own_lot = add_months(sold.date(), then.expiry_months) if then.expiry_months else None
    spend_lots(state, back.earned + sum(points for _, points in back.campaigns), first=own_lot)
    taken_before = dict(original.campaign_taken)
    state.receipts[original_id] = original._replace(
        returned_amount=money_value(back.total_returned),
        earned_taken=original.earned_taken + back.earned,
        qualifying_taken=original.qualifying_taken + back.qualifying,
        campaign_taken=tuple(
            (campaign_id, taken_before.get(campaign_id, 0) + points)
            for campaign_id, points in back.campaigns
        ),
    )
    state.receipts[receipt.receipt_id] = ReceiptRecord.of(
        fingerprint, receipt.occurred_at, ReceiptKind.RETURN
    )


def _take_back_campaign_bonuses(
    state: MemberState, out: Outputs, receipt: Receipt, back: TakeBack, rate: Tier
) -> None:
    """One RETURN entry per campaign bonus taken back; the campaign's cap gets room again."""
    for campaign_id, points in back.campaigns:
        if points == 0:
            continue
        post(
            state,
            out,
            entry_id=f"{receipt.receipt_id}:RETURN:CAMPAIGN:{campaign_id}",
            occurred_at=receipt.occurred_at,
            kind=LedgerKind.RETURN,
            points=-points,
            tier=rate.name,
            multiplier=rate.multiplier,
            receipt_id=receipt.receipt_id,
            campaign_id=campaign_id,
            description=f"Return {receipt.receipt_id}: campaign {campaign_id} bonus taken back",
        )
        if campaign_id in state.campaign_bonus:
            state.campaign_bonus[campaign_id] = max(0, state.campaign_bonus[campaign_id] - points)


def match_pending_returns(state: MemberState, out: Outputs, sale_id: str, program: Program) -> None:
    """A sale arrived: the returns that waited for it are applied, in their event-time order."""
    if not state.pending_returns:
        return  # the usual sale: nothing to sort
    waiting = sorted(
        (r for r in state.pending_returns.values() if r.original_receipt_id == sale_id),
        key=lambda r: (r.occurred_at, r.receipt_id),
    )
    for receipt in waiting:
        del state.pending_returns[receipt.receipt_id]
        apply_return(
            state,
            out,
            receipt,
            sale_id,
            state.receipts[sale_id],
            program,
            receipt_fingerprint(receipt),
        )


def unmatched_on(receipt: Receipt, program: Program) -> date:
    """The review that gives up on a waiting return: its local date + `returns.match_days`."""
    local = program.local(receipt.occurred_at)
    return local.date() + days_delta(program.version_at(local).returns_match_days)


def give_up_waiting_returns(state: MemberState, out: Outputs, day: date, program: Program) -> None:
    """Returns still unmatched at their deadline become `unmatched_return` dead letters."""
    expired = sorted(
        (r for r in state.pending_returns.values() if unmatched_on(r, program) <= day),
        key=lambda r: (r.occurred_at, r.receipt_id),
    )
    for receipt in expired:
        del state.pending_returns[receipt.receipt_id]
        # Remembered, so a redelivery is a duplicate instead of waiting all over again.
        state.receipts[receipt.receipt_id] = ReceiptRecord.of(
            receipt_fingerprint(receipt), receipt.occurred_at, ReceiptKind.RETURN
        )
        out.rejections.append(
            Rejection(
                error_code="unmatched_return",
                error=(
                    f"return {receipt.receipt_id}: original sale {receipt.original_receipt_id} "
                    f"not seen by {day.isoformat()}; credit or refuse it by hand"
                ),
                member_id=state.member_id,
                occurred_at=day_start(day, program.zone),
                subject=receipt,
            )
        )


def close_waiting_returns(state: MemberState, out: Outputs, program: Program) -> None:
    """At closure nothing is left to take back; waiting returns are dead-lettered at once."""
    for receipt in sorted(state.pending_returns.values(), key=lambda r: r.occurred_at):
        out.rejections.append(
            Rejection(
                error_code="unmatched_return",
                error=f"return {receipt.receipt_id}: membership closed before its sale arrived",
                member_id=state.member_id,
                occurred_at=receipt.occurred_at,
                subject=receipt,
            )
        )
        state.receipts[receipt.receipt_id] = ReceiptRecord.of(
            receipt_fingerprint(receipt), receipt.occurred_at, ReceiptKind.RETURN
        )
    state.pending_returns.clear()
