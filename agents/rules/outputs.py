"""What the loyalty core emits: ledger entries, tier changes, notifications, dead letters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from agents.rules.events import MemberEvent, Receipt


class LedgerKind(StrEnum):
    EARN = "EARN"
    CAMPAIGN_BONUS = "CAMPAIGN_BONUS"
    TIER_BONUS = "TIER_BONUS"
    RETURN = "RETURN"
    REDEEM = "REDEEM"
    REDEMPTION_REFUSED = "REDEMPTION_REFUSED"
    ADJUST = "ADJUST"
    EXPIRE = "EXPIRE"
    NOT_CREDITED = "NOT_CREDITED"


class Direction(StrEnum):
    UP = "UP"
    DOWN = "DOWN"


class Channel(StrEnum):
    EMAIL = "EMAIL"
    SMS = "SMS"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    entry_id: str  # stable: derived from the source ids, so a retry yields the same id
    member_id: str
    occurred_at: datetime
    kind: LedgerKind
    points: int
    qualifying_points: int
    balance_after: int
    tier: str
    multiplier: Decimal
    receipt_id: str | None = None
    event_id: str | None = None
    campaign_id: str | None = None
    description: str = ""
    actor: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TierChange:
    event_id: str  # stable, like entry_id
    member_id: str
    from_tier: str
    to_tier: str
    direction: Direction
    qualifying_points: int
    effective_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Notification:
    notification_id: str  # stable
    member_id: str
    channel: Channel
    template: str
    recipient: str
    subject: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Rejection:
    """An input the rules refuse (e.g. `conflicting_duplicate`, `unmatched_return`).

    The shell turns it into a `DeadLetter` message, adding topic, partition, offset and the
    encoded subject as payload.
    """

    error_code: str
    error: str
    member_id: str
    occurred_at: datetime
    subject: Receipt | MemberEvent


@dataclass(slots=True)
class Outputs:
    ledger: list[LedgerEntry] = field(default_factory=list)
    tier_changes: list[TierChange] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    def extend(self, other: Outputs) -> None:
        self.ledger.extend(other.ledger)
        self.tier_changes.extend(other.tier_changes)
        self.notifications.extend(other.notifications)
        self.rejections.extend(other.rejections)

    def __bool__(self) -> bool:
        return bool(self.ledger or self.tier_changes or self.notifications or self.rejections)
