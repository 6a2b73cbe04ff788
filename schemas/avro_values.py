"""Core dataclasses <-> the plain records fastavro reads and writes without logical types.

Decimals travel as two's-complement bytes and times as epoch milliseconds; converting them
here is cheaper than fastavro's logical-type readers and lets the codec check as it goes.
Money is cached both ways (bounded): the same prices come back on receipt after receipt.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from agents.rules.events import LineItem, MemberEvent, MemberEventType, Receipt, ReceiptKind
from agents.rules.outputs import LedgerEntry, Notification, TierChange
from schemas.checks import CheckFailed, check_member_event, check_receipt
from schemas.errors import CodecError
from schemas.records import DeadLetter, MemberSnapshot, ReviewTickMessage

AvroRecord = dict[str, Any]

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_DATE: Final = date(1970, 1, 1)
_MILLISECOND: Final = timedelta(milliseconds=1)
# A decimal(12, s) needs at most 6 bytes; longer ones are out of range before we build them.
_MAX_DECIMAL_BYTES: Final = 8
_RECEIPT_KINDS: Final = {kind.value: kind for kind in ReceiptKind}
_EVENT_TYPES: Final = {kind.value: kind for kind in MemberEventType}


def enum_symbols(record: str, field: str) -> tuple[str, ...]:
    """An enum field's symbols in the order of the record's `.avsc`: the wire's indexes."""
    definition = json.loads((Path(__file__).parent / f"{record}.avsc").read_text("utf-8"))
    (enum,) = [item["type"] for item in definition["fields"] if item["name"] == field]
    return tuple(enum["symbols"])


def millis(moment: datetime, field: str) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CodecError("unencodable", f"{field} is a naive datetime; give it a timezone", field)
    return (moment - EPOCH) // _MILLISECOND


def moment(millis: int, field: str) -> datetime:
    try:
        return EPOCH + timedelta(0, 0, 0, millis)  # milliseconds, positional: half the cost
    except OverflowError:
        raise CheckFailed(field, f"{millis} ms is outside 2000-01-01 .. 2100-01-01") from None


def decimal_bytes(value: Decimal, scale: int, field: str) -> bytes:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise CodecError("unencodable", f"{field} is {value!r}, not a finite Decimal", field)
    unscaled = int(value.scaleb(scale))
    if Decimal(unscaled).scaleb(-scale) != value:
        raise CodecError("unencodable", f"{field} {value} has more than {scale} places", field)
    return unscaled.to_bytes(unscaled.bit_length() // 8 + 1, "big", signed=True)


# Prices and amounts repeat across receipts; Decimals are immutable, so decoded ones are shared.
# Bounded, so a stream of distinct amounts costs at most this many entries.
_CENTS: dict[bytes, Decimal] = {}
_CENT_BYTES: dict[Decimal, bytes] = {}
_CENTS_LIMIT: Final = 65_536


def money_bytes(value: Decimal, field: str) -> bytes:
    """`decimal_bytes(value, 2)`, remembered: the same prices are written again and again."""
    raw = _CENT_BYTES.get(value)
    if raw is None:
        raw = decimal_bytes(value, 2, field)
        if len(_CENT_BYTES) < _CENTS_LIMIT:
            _CENT_BYTES[value] = raw
    return raw


def decimal_from_bytes(raw: bytes, scale: int, field: str) -> Decimal:
    if len(raw) > _MAX_DECIMAL_BYTES:
        raise CheckFailed(field, f"a {len(raw)}-byte decimal exceeds decimal(12, {scale})")
    return Decimal(int.from_bytes(raw, "big", signed=True)).scaleb(-scale)


def money(raw: bytes, field: str) -> Decimal:
    value = _CENTS.get(raw)
    if value is None:
        value = decimal_from_bytes(raw, 2, field)
        if len(_CENTS) < _CENTS_LIMIT:
            _CENTS[raw] = value
    return value


def receipt_to_raw(receipt: Receipt) -> AvroRecord:
    return {
        "receipt_id": receipt.receipt_id,
        "member_id": receipt.member_id,
        "store_id": receipt.store_id,
        "terminal_id": receipt.terminal_id,
        "occurred_at": millis(receipt.occurred_at, "occurred_at"),
        "currency": receipt.currency,
        "kind": receipt.kind.value,
        "original_receipt_id": receipt.original_receipt_id,
        "lines": [
            {
                "sku": line.sku,
                "category": line.category,
                "quantity": line.quantity,
                "unit_price": money_bytes(line.unit_price, "unit_price"),
                "amount": money_bytes(line.amount, "amount"),
            }
            for line in receipt.lines
        ],
        "total": money_bytes(receipt.total, "total"),
    }


def receipt_from_raw(record: AvroRecord) -> Receipt:
    lines = tuple(
        [
            LineItem(
                line["sku"],
                line["category"],
                line["quantity"],
                money(line["unit_price"], "lines[].unit_price"),
                money(line["amount"], "lines[].amount"),
            )
            for line in record["lines"]
        ]
    )
    return Receipt(
        record["receipt_id"],
        record["member_id"],
        record["store_id"],
        moment(record["occurred_at"], "occurred_at"),
        record["currency"],
        _RECEIPT_KINDS[record["kind"]],
        lines,
        money(record["total"], "total"),
        record["terminal_id"],
        record["original_receipt_id"],
    )


_EVENT_FIELDS: Final = (
    "name",
    "email",
    "phone",
    "consent_email",
    "consent_sms",
    "points",
    "actor",
    "reason",
    "counts_toward_qualifying",
    "reward_id",
)


def member_event_to_raw(event: MemberEvent) -> AvroRecord:
    record: AvroRecord = {
        "type": event.type.value,
        "event_id": event.event_id,
        "member_id": event.member_id,
        "occurred_at": millis(event.occurred_at, "occurred_at"),
    }
    for name in _EVENT_FIELDS:
        record[name] = getattr(event, name)
    return record


def member_event_from_raw(record: AvroRecord) -> MemberEvent:
    return MemberEvent(
        type=_EVENT_TYPES[record["type"]],
        event_id=record["event_id"],
        member_id=record["member_id"],
        occurred_at=moment(record["occurred_at"], "occurred_at"),
        name=record["name"],
        email=record["email"],
        phone=record["phone"],
        consent_email=record["consent_email"],
        consent_sms=record["consent_sms"],
        points=record["points"],
        actor=record["actor"],
        reason=record["reason"],
        counts_toward_qualifying=record["counts_toward_qualifying"],
        reward_id=record["reward_id"],
    )


def ledger_entry_to_raw(entry: LedgerEntry) -> AvroRecord:
    return {
        "entry_id": entry.entry_id,
        "member_id": entry.member_id,
        "occurred_at": millis(entry.occurred_at, "occurred_at"),
        "kind": entry.kind.value,
        "points": entry.points,
        "qualifying_points": entry.qualifying_points,
        "balance_after": entry.balance_after,
        "tier": entry.tier,
        "multiplier": decimal_bytes(entry.multiplier, 4, "multiplier"),
        "receipt_id": entry.receipt_id,
        "event_id": entry.event_id,
        "campaign_id": entry.campaign_id,
        "description": entry.description,
        "actor": entry.actor,
        "reason": entry.reason,
    }


def tier_change_to_raw(change: TierChange) -> AvroRecord:
    return {
        "event_id": change.event_id,
        "member_id": change.member_id,
        "from_tier": change.from_tier,
        "to_tier": change.to_tier,
        "direction": change.direction.value,
        "qualifying_points": change.qualifying_points,
        "effective_at": millis(change.effective_at, "effective_at"),
        "reason": change.reason,
    }


def notification_to_raw(notification: Notification) -> AvroRecord:
    return {
        "notification_id": notification.notification_id,
        "member_id": notification.member_id,
        "channel": notification.channel.value,
        "template": notification.template,
        "recipient": notification.recipient,
        "subject": notification.subject,
        "body": notification.body,
        "created_at": millis(notification.created_at, "created_at"),
    }


def dead_letter_to_raw(letter: DeadLetter) -> AvroRecord:
    return {
        "source_topic": letter.source_topic,
        "partition": letter.partition,
        "offset": letter.offset,
        "key": None if letter.key is None else bytes(letter.key),
        "error_code": letter.error_code,
        "error": letter.error,
        "payload": bytes(letter.payload),
        "failed_at": millis(letter.failed_at, "failed_at"),
    }


def review_tick_to_raw(tick: ReviewTickMessage) -> AvroRecord:
    if not isinstance(tick.review_date, date) or isinstance(tick.review_date, datetime):
        raise CodecError("unencodable", "review_date must be a date", "review_date")
    return {
        "review_date": (tick.review_date - EPOCH_DATE).days,
        "partition": tick.partition,
        "published_at": millis(tick.published_at, "published_at"),
    }


def member_snapshot_to_raw(snapshot: MemberSnapshot) -> AvroRecord:
    view = snapshot.view
    return {
        "member_id": view.member_id,
        "status": view.status,
        "tier": view.tier,
        "balance": view.balance,
        "qualifying_points": view.qualifying_points,
        "next_tier": view.next_tier,
        "points_to_next_tier": view.points_to_next_tier,
        "points_at_risk_30d": view.points_at_risk_30d,
        "multiplier": decimal_bytes(view.multiplier, 4, "multiplier"),
        "enrolled_at": None
        if view.enrolled_at is None
        else millis(view.enrolled_at, "enrolled_at"),
        "updated_at": millis(snapshot.updated_at, "updated_at"),
        "name": view.name,
        "email": view.email,
        "phone": view.phone,
    }


def checked_receipt(receipt: Receipt) -> AvroRecord:
    try:
        check_receipt(receipt)
    except CheckFailed as failed:
        raise CodecError("invalid_receipt", str(failed), failed.field) from None
    return receipt_to_raw(receipt)


def checked_member_event(event: MemberEvent) -> AvroRecord:
    try:
        check_member_event(event)
    except CheckFailed as failed:
        raise CodecError("invalid_member_event", str(failed), failed.field) from None
    return member_event_to_raw(event)


ENCODERS: Final[dict[type, tuple[str, Callable[[Any], AvroRecord]]]] = {
    Receipt: ("Receipt", checked_receipt),
    MemberEvent: ("MemberEvent", checked_member_event),
    LedgerEntry: ("LedgerEntry", ledger_entry_to_raw),
    TierChange: ("TierChange", tier_change_to_raw),
    Notification: ("Notification", notification_to_raw),
    DeadLetter: ("DeadLetter", dead_letter_to_raw),
    ReviewTickMessage: ("ReviewTick", review_tick_to_raw),
    MemberSnapshot: ("MemberSnapshot", member_snapshot_to_raw),
}
