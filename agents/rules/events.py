"""What the loyalty core consumes: receipts, member events and daily-review ticks.

Plain frozen dataclasses; the codec (schemas/) builds them from validated wire records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class ReceiptKind(StrEnum):
    SALE = "SALE"
    RETURN = "RETURN"


@dataclass(frozen=True, slots=True)
class LineItem:
    sku: str
    category: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Receipt:
    receipt_id: str
    member_id: str
    store_id: str
    occurred_at: datetime  # timezone-aware, UTC
    currency: str
    kind: ReceiptKind
    lines: tuple[LineItem, ...]
    total: Decimal
    terminal_id: str | None = None
    original_receipt_id: str | None = None
    # The digest of the receipt's canonical wire form, when the codec decoded it: see
    # `agents.rules.idempotency.receipt_fingerprint`. Not part of the receipt's value (equal
    # receipts compare equal with or without it), and not copied by `dataclasses.replace`
    # (a changed receipt is another content): set only by `fingerprinted`.
    fingerprint: bytes = field(default=b"", init=False, compare=False, repr=False)


def fingerprinted(receipt: Receipt, digest: bytes) -> Receipt:
    """`receipt` carrying `digest` as its fingerprint (for the codec, which decoded it)."""
    object.__setattr__(receipt, "fingerprint", digest)  # frozen: set once, before anyone reads it
    return receipt


class MemberEventType(StrEnum):
    ENROLLED = "enrolled"
    PROFILE_UPDATED = "profile_updated"
    POINTS_ADJUSTED = "points_adjusted"
    POINTS_REDEEMED = "points_redeemed"
    BLOCKED = "blocked"
    UNBLOCKED = "unblocked"
    ANONYMIZED = "anonymized"


@dataclass(frozen=True, slots=True)
class MemberEvent:
    type: MemberEventType
    event_id: str
    member_id: str
    occurred_at: datetime  # timezone-aware, UTC
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    consent_email: bool | None = None
    consent_sms: bool | None = None
    points: int | None = None
    actor: str | None = None
    reason: str | None = None
    counts_toward_qualifying: bool = False
    reward_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReviewTick:
    """The daily review of one member for a local date of the program timezone.

    Reviewing date D means: the local day D has begun (local midnight passed), so qualifying
    points that leave the window on D no longer count, lots expiring on D expire, and returns
    that have waited past `returns.match_days` are dead-lettered.
    """

    review_date: date


Event = Receipt | MemberEvent | ReviewTick
