"""Idempotency: receipts and member events are keyed by their ids and fingerprinted by content.

The same id with the same content is a no-op; with different content it is refused
(`conflicting_duplicate`). Ids are remembered for the dedupe horizon: `window_months` of the
member's event time (see docs/rules.md); older inputs are refused as `stale_event`.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from hashlib import blake2b

from agents.rules.events import MemberEvent, Receipt
from agents.rules.program import Program
from agents.rules.state import MemberState
from agents.rules.window import add_months

_EVENT_FIELDS = tuple(f.name for f in fields(MemberEvent))


class Seen(Enum):
    NEW = "new"
    SAME = "same"
    CONFLICTING = "conflicting"


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 10.0 and 10.00 are the same money
    if isinstance(value, datetime):
        return str(value.timestamp())
    if isinstance(value, Enum):
        return str(value.value)
    return repr(value)


def _digest(parts: list[str]) -> bytes:
    return blake2b("\x1f".join(parts).encode(), digest_size=8).digest()


def receipt_fingerprint(receipt: Receipt) -> bytes:
    parts = [
        _text(getattr(receipt, name))
        for name in (
            "receipt_id",
            "member_id",
            "store_id",
            "occurred_at",
            "currency",
            "kind",
            "total",
            "terminal_id",
            "original_receipt_id",
        )
    ]
    for line in receipt.lines:
        parts.extend(
            _text(value)
            for value in (line.sku, line.category, line.quantity, line.unit_price, line.amount)
        )
    return _digest(parts)


def event_fingerprint(event: MemberEvent) -> bytes:
    return _digest([_text(getattr(event, name)) for name in _EVENT_FIELDS])


def receipt_seen(state: MemberState, receipt: Receipt, fingerprint: bytes) -> Seen:
    record = state.receipts.get(receipt.receipt_id)
    if record is not None:
        return Seen.SAME if record.fingerprint == fingerprint else Seen.CONFLICTING
    pending = state.pending_returns.get(receipt.receipt_id)
    if pending is not None:
        return Seen.SAME if receipt_fingerprint(pending) == fingerprint else Seen.CONFLICTING
    return Seen.NEW


def event_seen(state: MemberState, event: MemberEvent, fingerprint: bytes) -> Seen:
    seen = state.member_events.get(event.event_id)
    if seen is None:
        return Seen.NEW
    return Seen.SAME if seen.fingerprint == fingerprint else Seen.CONFLICTING


def horizon_months(program: Program, day: date) -> int:
    return program.version_at(datetime.combine(day, datetime.min.time())).window_months


def is_stale(state: MemberState, day: date, program: Program) -> bool:
    """Older than what the member's state still remembers, so a duplicate could not be told."""
    through = state.reviewed_through
    return through is not None and add_months(day, horizon_months(program, through)) <= through


def forget_beyond_horizon(state: MemberState, program: Program) -> None:
    """Prune receipts, event ids, entry-bonus dates and campaign totals past the horizon."""
    through = state.reviewed_through
    if through is None:
        return
    months = horizon_months(program, through)
    for receipt_id in [
        key for key, r in state.receipts.items() if add_months(r.local_date, months) <= through
    ]:
        del state.receipts[receipt_id]
    for event_id in [
        key for key, e in state.member_events.items() if add_months(e.local_date, months) <= through
    ]:
        del state.member_events[event_id]
    for tier in [
        name for name, on in state.tier_bonus_on.items() if add_months(on, months) <= through
    ]:
        del state.tier_bonus_on[tier]
    for campaign_id in list(state.campaign_bonus):
        if not _campaign_still_relevant(program, campaign_id, through, months):
            del state.campaign_bonus[campaign_id]


def _campaign_still_relevant(
    program: Program, campaign_id: str, through: date, months: int
) -> bool:
    """A campaign's total is kept while a receipt inside it could still arrive (or be returned)."""
    return any(
        campaign.id == campaign_id and add_months(campaign.ends.date(), months) > through
        for version in program.versions
        for campaign in version.campaigns
    )
