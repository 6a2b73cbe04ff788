"""Avro binary bodies of the records the worker writes on every change, built by hand.

Ledger entries, tier changes, notifications and member snapshots go out for nearly every
input; fastavro walks its schema for each one, so these are written field by field here, in
the `.avsc` field order, at about a third of the cost. Bytes are exactly fastavro's
(tests/schemas/test_avro_writer.py compares them). A writer only writes: any value it does
not expect (a naive datetime, a float, a Decimal with too many places, ...) raises, and
`Codec.encode` then takes the fastavro path, which writes it or names the error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, TypeVar

from agents.rules.events import Receipt, ReceiptKind
from agents.rules.outputs import (
    Channel,
    Direction,
    LedgerEntry,
    LedgerKind,
    Notification,
    TierChange,
)
from schemas.avro_values import decimal_bytes, enum_symbols, money_bytes
from schemas.records import MemberSnapshot

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND: Final = timedelta(milliseconds=1)
_BYTE: Final = tuple(bytes([n]) for n in range(128))
_NULL: Final = b"\x00"  # union branch 0: null
_PRESENT: Final = b"\x02"  # union branch 1 (zigzag 1): the value follows


def long_bytes(value: int) -> bytes:
    """An Avro int or long: zigzag, then base-128 varint, least significant group first."""
    zigzag = (value << 1) ^ (value >> 63)
    if zigzag < 0x80:
        return _BYTE[zigzag]
    if zigzag < 0x4000:
        return bytes((zigzag & 0x7F | 0x80, zigzag >> 7))
    if zigzag >> 64:  # only a value outside the signed 64 bits zigzags this far
        raise OverflowError(f"{value} does not fit an Avro long")
    groups = bytearray()
    while zigzag >= 0x80:
        groups.append(zigzag & 0x7F | 0x80)
        zigzag >>= 7
    groups.append(zigzag)
    return bytes(groups)


def string_bytes(text: str) -> bytes:
    """An Avro string: its UTF-8 length, then the UTF-8 bytes (`text` must be a str)."""
    encoded = text.encode()
    size = len(encoded)
    return (_BYTE[size << 1] if size < 0x40 else long_bytes(size)) + encoded


def optional_string_bytes(text: str | None) -> bytes:
    """A `["null", "string"]` union."""
    return _NULL if text is None else _PRESENT + string_bytes(text)


# A change's moment is written several times (its ledger entries, tier change, notifications,
# the member's snapshot, and the enrollment time again in later snapshots): remembered, bounded.
_TIMESTAMPS: dict[datetime, bytes] = {}
_TIMESTAMPS_LIMIT: Final = 1 << 13


def timestamp_bytes(moment: datetime) -> bytes:
    """A timestamp-millis long; a naive `moment` raises (it cannot be subtracted from UTC)."""
    written = _TIMESTAMPS.get(moment)
    if written is not None:
        return written
    zigzag = ((moment - _EPOCH) // _MILLISECOND) << 1
    if 1 << 35 <= zigzag < 1 << 42:  # 1970-07 .. 2039-09: six bytes, written out
        written = bytes(
            (
                zigzag & 0x7F | 0x80,
                zigzag >> 7 & 0x7F | 0x80,
                zigzag >> 14 & 0x7F | 0x80,
                zigzag >> 21 & 0x7F | 0x80,
                zigzag >> 28 & 0x7F | 0x80,
                zigzag >> 35,
            )
        )
    else:
        written = long_bytes(zigzag >> 1)
    if len(_TIMESTAMPS) >= _TIMESTAMPS_LIMIT:
        _TIMESTAMPS.clear()  # simplest bound: a batch's moments are written again
    _TIMESTAMPS[moment] = written
    return written


def optional_timestamp_bytes(moment: datetime | None) -> bytes:
    return _NULL if moment is None else _PRESENT + timestamp_bytes(moment)


# Multipliers repeat (one per tier), so their Avro bytes are kept; a program has a handful.
_MULTIPLIERS: dict[Decimal, bytes] = {}
_MULTIPLIERS_LIMIT: Final = 1024


def multiplier_bytes(multiplier: Decimal) -> bytes:
    """A decimal(12, 4) as Avro bytes (length, then the big-endian two's complement)."""
    if type(multiplier) is not Decimal:  # an equal int or float would find a Decimal's bytes
        raise TypeError(f"multiplier is a {type(multiplier).__name__}, not a Decimal")
    written = _MULTIPLIERS.get(multiplier)
    if written is None:
        unscaled = decimal_bytes(multiplier, 4, "multiplier")
        written = long_bytes(len(unscaled)) + unscaled
        if len(_MULTIPLIERS) < _MULTIPLIERS_LIMIT:
            _MULTIPLIERS[multiplier] = written
    return written


def _symbols(record: str, field: str) -> dict[str, bytes]:
    """An enum field's symbols -> the symbol's index as Avro bytes."""
    return {symbol: long_bytes(index) for index, symbol in enumerate(enum_symbols(record, field))}


E = TypeVar("E", bound=StrEnum)


def _members(enum: type[E], record: str, field: str) -> dict[E, bytes]:
    """The same by the core's enum members (looked up without `.value`, a Python property)."""
    known = {member.value: member for member in enum}
    return {
        known[symbol]: index for symbol, index in _symbols(record, field).items() if symbol in known
    }


def _member_index(members: dict[E, bytes], member: E, enum: type[E]) -> bytes:
    # A plain str equal to a symbol would be found too: the fastavro path refuses it (it reads
    # `.value`), so it is refused here, and left to that path.
    if type(member) is not enum:
        raise TypeError(f"{member!r} is not a {enum.__name__}")
    return members[member]


_LEDGER_KINDS: Final = _members(LedgerKind, "LedgerEntry", "kind")
_DIRECTIONS: Final = _members(Direction, "TierChange", "direction")
_CHANNELS: Final = _members(Channel, "Notification", "channel")
# The view's status is text, looked up as it is (as fastavro looks it up).
_MEMBER_STATUSES: Final = _symbols("MemberSnapshot", "status")


_RECEIPT_KINDS: Final = _members(ReceiptKind, "Receipt", "kind")


def _money(value: Decimal, field: str) -> bytes:
    raw = money_bytes(value, field)
    return _BYTE[len(raw) << 1] + raw  # a decimal(12, 2) is at most 6 bytes


def receipt_body(receipt: Receipt) -> bytes:
    """A decoded, checked receipt's body in `Receipt.avsc`, written canonically: what
    `schemas.codec.receipt_digest` digests for a receipt not read from such a body.
    (`Codec.encode` writes receipts with fastavro, after checking them.)"""
    lines = receipt.lines
    parts = [
        string_bytes(receipt.receipt_id),
        string_bytes(receipt.member_id),
        string_bytes(receipt.store_id),
        optional_string_bytes(receipt.terminal_id),
        timestamp_bytes(receipt.occurred_at),
        string_bytes(receipt.currency),
        _member_index(_RECEIPT_KINDS, receipt.kind, ReceiptKind),
        optional_string_bytes(receipt.original_receipt_id),
    ]
    if lines:  # one block of all the lines, then the empty block that ends the array
        parts.append(long_bytes(len(lines)))
        for line in lines:
            parts += (
                string_bytes(line.sku),
                string_bytes(line.category),
                long_bytes(line.quantity),
                _money(line.unit_price, "lines[].unit_price"),
                _money(line.amount, "lines[].amount"),
            )
    parts += (_BYTE[0], _money(receipt.total, "total"))
    return b"".join(parts)


def ledger_entry_body(entry: LedgerEntry) -> bytes:
    # Optional fields are mostly null: tested here, which saves a call per null field.
    return b"".join(
        (
            string_bytes(entry.entry_id),
            string_bytes(entry.member_id),
            timestamp_bytes(entry.occurred_at),
            _member_index(_LEDGER_KINDS, entry.kind, LedgerKind),
            long_bytes(entry.points),
            long_bytes(entry.qualifying_points),
            long_bytes(entry.balance_after),
            string_bytes(entry.tier),
            multiplier_bytes(entry.multiplier),
            _NULL if entry.receipt_id is None else _PRESENT + string_bytes(entry.receipt_id),
            _NULL if entry.event_id is None else _PRESENT + string_bytes(entry.event_id),
            _NULL if entry.campaign_id is None else _PRESENT + string_bytes(entry.campaign_id),
            string_bytes(entry.description),
            _NULL if entry.actor is None else _PRESENT + string_bytes(entry.actor),
            _NULL if entry.reason is None else _PRESENT + string_bytes(entry.reason),
        )
    )


def tier_change_body(change: TierChange) -> bytes:
    return b"".join(
        (
            string_bytes(change.event_id),
            string_bytes(change.member_id),
            string_bytes(change.from_tier),
            string_bytes(change.to_tier),
            _member_index(_DIRECTIONS, change.direction, Direction),
            long_bytes(change.qualifying_points),
            timestamp_bytes(change.effective_at),
            string_bytes(change.reason),
        )
    )


def notification_body(notification: Notification) -> bytes:
    return b"".join(
        (
            string_bytes(notification.notification_id),
            string_bytes(notification.member_id),
            _member_index(_CHANNELS, notification.channel, Channel),
            string_bytes(notification.template),
            string_bytes(notification.recipient),
            string_bytes(notification.subject),
            string_bytes(notification.body),
            timestamp_bytes(notification.created_at),
        )
    )


def member_snapshot_body(snapshot: MemberSnapshot) -> bytes:
    view = snapshot.view  # optional fields tested here, as in ledger_entry_body
    return b"".join(
        (
            string_bytes(view.member_id),
            _MEMBER_STATUSES[view.status],
            string_bytes(view.tier),
            long_bytes(view.balance),
            long_bytes(view.qualifying_points),
            _NULL if view.next_tier is None else _PRESENT + string_bytes(view.next_tier),
            long_bytes(view.points_to_next_tier),
            long_bytes(view.points_at_risk_30d),
            multiplier_bytes(view.multiplier),
            optional_timestamp_bytes(view.enrolled_at),
            timestamp_bytes(snapshot.updated_at),
            _NULL if view.name is None else _PRESENT + string_bytes(view.name),
            _NULL if view.email is None else _PRESENT + string_bytes(view.email),
            _NULL if view.phone is None else _PRESENT + string_bytes(view.phone),
        )
    )


# Record type -> (record name, body writer). Other records are written by fastavro.
BODY_WRITERS: Final[dict[type, tuple[str, Callable[[Any], bytes]]]] = {
    LedgerEntry: ("LedgerEntry", ledger_entry_body),
    TierChange: ("TierChange", tier_change_body),
    Notification: ("Notification", notification_body),
    MemberSnapshot: ("MemberSnapshot", member_snapshot_body),
}
