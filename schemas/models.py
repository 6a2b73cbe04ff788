"""pydantic models of the wire messages, field for field as in `schemas/*.avsc`.

Used where untrusted data arrives in a form other than Avro (JSON Lines files, HTTP); the
semantic checks are `schemas.checks`, the same the codec's fast path runs. A test keeps each
model and its `.avsc` in step (names, order, types, optionality).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, model_validator

from agents.rules.events import LineItem, MemberEvent, MemberEventType, Receipt, ReceiptKind
from agents.rules.outputs import (
    Channel,
    Direction,
    LedgerEntry,
    LedgerKind,
    Notification,
    TierChange,
)
from agents.rules.state import MemberStatus
from agents.rules.view import MemberView
from schemas.checks import (
    check_date,
    check_id,
    check_member_event,
    check_moment,
    check_receipt,
)
from schemas.records import DeadLetter, MemberSnapshot, ReviewTickMessage


def _not_a_float(value: Any) -> Any:
    # Floats cannot hold 0.10 exactly: money arrives as a string ("12.50") or a Decimal.
    if isinstance(value, float):
        raise ValueError(f'money is a string like "12.50", never a float ({value!r})')
    return value


Money = Annotated[Decimal, BeforeValidator(_not_a_float)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineItemModel(_Message):
    sku: str
    category: str
    quantity: int
    unit_price: Money
    amount: Money

    def to_core(self) -> LineItem:
        return LineItem(self.sku, self.category, self.quantity, self.unit_price, self.amount)


class ReceiptModel(_Message):
    receipt_id: str
    member_id: str
    store_id: str
    terminal_id: str | None = None
    occurred_at: AwareDatetime
    currency: str
    kind: ReceiptKind
    original_receipt_id: str | None = None
    lines: list[LineItemModel]
    total: Money

    @model_validator(mode="after")
    def _follows_the_contract(self) -> Self:
        check_receipt(self.to_core())
        return self

    def to_core(self) -> Receipt:
        return Receipt(
            receipt_id=self.receipt_id,
            member_id=self.member_id,
            store_id=self.store_id,
            occurred_at=self.occurred_at,
            currency=self.currency,
            kind=self.kind,
            lines=tuple(line.to_core() for line in self.lines),
            total=self.total,
            terminal_id=self.terminal_id,
            original_receipt_id=self.original_receipt_id,
        )


class MemberEventModel(_Message):
    type: MemberEventType
    event_id: str
    member_id: str
    occurred_at: AwareDatetime
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

    @model_validator(mode="after")
    def _follows_the_contract(self) -> Self:
        check_member_event(self.to_core())
        return self

    def to_core(self) -> MemberEvent:
        return MemberEvent(**{name: getattr(self, name) for name in type(self).model_fields})


class LedgerEntryModel(_Message):
    entry_id: str
    member_id: str
    occurred_at: AwareDatetime
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

    @model_validator(mode="after")
    def _names_its_member(self) -> Self:
        check_id(self.entry_id, "entry_id")
        check_id(self.member_id, "member_id")
        check_moment(self.occurred_at, "occurred_at")
        return self

    def to_core(self) -> LedgerEntry:
        return LedgerEntry(**{name: getattr(self, name) for name in type(self).model_fields})


class TierChangeModel(_Message):
    event_id: str
    member_id: str
    from_tier: str
    to_tier: str
    direction: Direction
    qualifying_points: int
    effective_at: AwareDatetime
    reason: str

    @model_validator(mode="after")
    def _names_its_member(self) -> Self:
        check_id(self.event_id, "event_id")
        check_id(self.member_id, "member_id")
        check_moment(self.effective_at, "effective_at")
        return self

    def to_core(self) -> TierChange:
        return TierChange(**{name: getattr(self, name) for name in type(self).model_fields})


class NotificationModel(_Message):
    notification_id: str
    member_id: str
    channel: Channel
    template: str
    recipient: str
    subject: str
    body: str
    created_at: AwareDatetime

    @model_validator(mode="after")
    def _names_its_member(self) -> Self:
        check_id(self.notification_id, "notification_id")
        check_id(self.member_id, "member_id")
        check_moment(self.created_at, "created_at")
        return self

    def to_core(self) -> Notification:
        return Notification(**{name: getattr(self, name) for name in type(self).model_fields})


class DeadLetterModel(_Message):
    source_topic: str
    partition: int
    offset: int
    key: bytes | None = None
    error_code: str
    error: str
    payload: bytes
    failed_at: AwareDatetime

    def to_core(self) -> DeadLetter:
        return DeadLetter(**{name: getattr(self, name) for name in type(self).model_fields})


class ReviewTickModel(_Message):
    review_date: date
    partition: int
    published_at: AwareDatetime

    @model_validator(mode="after")
    def _is_a_review_day(self) -> Self:
        check_date(self.review_date, "review_date")
        return self

    def to_core(self) -> ReviewTickMessage:
        return ReviewTickMessage(self.review_date, self.partition, self.published_at)


class MemberSnapshotModel(_Message):
    member_id: str
    status: MemberStatus
    tier: str
    balance: int
    qualifying_points: int
    next_tier: str | None = None
    points_to_next_tier: int = 0
    points_at_risk_30d: int = 0
    multiplier: Decimal
    enrolled_at: AwareDatetime | None = None
    updated_at: AwareDatetime
    name: str | None = None
    email: str | None = None
    phone: str | None = None

    @model_validator(mode="after")
    def _names_its_member(self) -> Self:
        check_id(self.member_id, "member_id")
        check_moment(self.updated_at, "updated_at")
        return self

    def to_core(self) -> MemberSnapshot:
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        updated_at = fields.pop("updated_at")
        fields["status"] = self.status.value
        return MemberSnapshot(MemberView(**fields), updated_at)


MODELS: dict[str, type[_Message]] = {
    "Receipt": ReceiptModel,
    "MemberEvent": MemberEventModel,
    "LedgerEntry": LedgerEntryModel,
    "TierChange": TierChangeModel,
    "Notification": NotificationModel,
    "DeadLetter": DeadLetterModel,
    "ReviewTick": ReviewTickModel,
    "MemberSnapshot": MemberSnapshotModel,
}
"""Each `.avsc` record name and the model that mirrors it."""
