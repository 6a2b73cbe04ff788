"""Earning on a sale: eligible lines, base points, the tier's multiplier, campaign bonuses."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from agents.rules.campaigns import campaign_bonuses
from agents.rules.events import LineItem, Receipt, ReceiptKind
from agents.rules.ledger import post
from agents.rules.lots import credit_lot
from agents.rules.outputs import LedgerKind, Outputs
from agents.rules.points import floor_points, round_half_up
from agents.rules.program import Campaign, ProgramVersion, Tier
from agents.rules.qualifying import book, qualifying_for_sale
from agents.rules.state import MemberState, ReceiptRecord
from agents.rules.tier_change import upgrade_if_reached
from agents.rules.tiers import current_tier, rate_label, tier_index
from agents.rules.window import add_months

_ZERO = Decimal(0)


def split_lines(
    lines: tuple[LineItem, ...], excluded_categories: frozenset[str]
) -> tuple[tuple[LineItem, ...], tuple[LineItem, ...]]:
    """(eligible lines, excluded lines) by the version's excluded categories."""
    excluded = tuple([line for line in lines if line.category in excluded_categories])
    if not excluded:
        return lines, ()  # the usual receipt: one pass, and the lines are already a tuple
    eligible = tuple([line for line in lines if line.category not in excluded_categories])
    return eligible, excluded


def amount_of(lines: tuple[LineItem, ...]) -> Decimal:
    """Sum of line amounts, never below zero (a discount line cannot make a sale cost points)."""
    return max(_ZERO, sum([line.amount for line in lines], _ZERO))


def excluded_text(excluded: tuple[LineItem, ...]) -> str:
    """Names each excluded line, so "why no points for this?" has an answer in the ledger."""
    if not excluded:
        return ""
    named = ", ".join(f"{line.sku} ({line.category}, {line.amount})" for line in excluded)
    return f"; no points for excluded lines: {named}"


def earn(
    state: MemberState,
    out: Outputs,
    receipt: Receipt,
    version: ProgramVersion,
    local: datetime,
    fingerprint: bytes,
) -> None:
    """Credit a sale: EARN at the tier before the receipt, campaign bonuses, QP, upgrade."""
    day = local.date()
    eligible_lines, excluded = split_lines(receipt.lines, version.excluded_categories)
    eligible = amount_of(eligible_lines)
    base = floor_points(eligible * version.points_per_unit)
    position = tier_index(version, state.tier) or 0  # a tier the version lacks earns as the first
    tier = version.tiers[position]
    earned = round_half_up(base * tier.multiplier)
    bonuses = campaign_bonuses(state, version, tier.name, local, eligible_lines, eligible)
    bonus_points = sum([points for _, points in bonuses]) if bonuses else 0
    qualifying = qualifying_for_sale(
        version.qualifying_basis, base, earned + bonus_points, eligible
    )
    booked = book(state, day, qualifying, version.window_months)
    expires_on = add_months(day, version.expiry_months) if version.expiry_months else None
    post(
        state,
        out,
        entry_id=f"{receipt.receipt_id}:EARN",
        occurred_at=receipt.occurred_at,
        kind=LedgerKind.EARN,
        points=earned,
        qualifying_points=booked,
        tier=tier.name,
        multiplier=tier.multiplier,
        receipt_id=receipt.receipt_id,
        description=(
            f"Sale {receipt.receipt_id} at store {receipt.store_id}: {eligible} eligible, "
            f"{base:,} base points at {rate_label(tier)} = {earned:,}{excluded_text(excluded)}"
        ),
    )
    credit_lot(state, earned, expires_on)
    if bonuses:
        credit_campaign_bonuses(state, out, receipt, bonuses, tier, expires_on)
    state.receipts[receipt.receipt_id] = ReceiptRecord.of(
        fingerprint,
        receipt.occurred_at,
        ReceiptKind.SALE,
        eligible=eligible,
        earned=earned,
        qualifying=booked,
        campaign_points=tuple([(campaign.id, points) for campaign, points in bonuses]),
        tier_position=position,
    )
    upgrade_if_reached(
        state,
        out,
        version,
        day=day,
        at=receipt.occurred_at,
        source=receipt.receipt_id,
        receipt_id=receipt.receipt_id,
    )


def credit_campaign_bonuses(
    state: MemberState,
    out: Outputs,
    receipt: Receipt,
    bonuses: list[tuple[Campaign, int]],
    tier: Tier,
    expires_on: date | None,
) -> None:
    """One CAMPAIGN_BONUS entry per campaign, counted toward the campaign's per-member cap."""
    for campaign, points in bonuses:
        post(
            state,
            out,
            entry_id=f"{receipt.receipt_id}:CAMPAIGN:{campaign.id}",
            occurred_at=receipt.occurred_at,
            kind=LedgerKind.CAMPAIGN_BONUS,
            points=points,
            tier=tier.name,
            multiplier=tier.multiplier,
            receipt_id=receipt.receipt_id,
            campaign_id=campaign.id,
            description=f"Campaign {campaign.name}: bonus {points:,} on {receipt.receipt_id}",
        )
        credit_lot(state, points, expires_on)
        state.campaign_bonus[campaign.id] = state.campaign_bonus.get(campaign.id, 0) + points


def not_credited(
    state: MemberState,
    out: Outputs,
    receipt: Receipt,
    version: ProgramVersion,
    fingerprint: bytes,
    reason: str,
) -> None:
    """A receipt of a blocked or closed member: on the ledger with 0 points, never credited."""
    tier = current_tier(version, state.tier)
    post(
        state,
        out,
        entry_id=f"{receipt.receipt_id}:NOT_CREDITED",
        occurred_at=receipt.occurred_at,
        kind=LedgerKind.NOT_CREDITED,
        points=0,
        tier=tier.name,
        multiplier=tier.multiplier,
        receipt_id=receipt.receipt_id,
        description=(
            f"{receipt.kind.value.title()} {receipt.receipt_id}: not credited, member {reason}"
        ),
        reason=reason,
    )
    # Recorded with nothing earned: a later return of it takes nothing back.
    state.receipts[receipt.receipt_id] = ReceiptRecord.of(
        fingerprint, receipt.occurred_at, receipt.kind
    )
