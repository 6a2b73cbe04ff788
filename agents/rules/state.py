"""A member's state: tier, balance, qualifying points by local date, lots, recent receipts.

`apply` never mutates the state it is given: it works on `copy()` and returns the copy. The
state stays bounded (see docs/rules.md, "What a member's state keeps") and serializes to
compact msgpack, because the worker writes it to a changelog on every change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

import msgpack

from agents.rules.events import LineItem, Receipt, ReceiptKind

_FORMAT = 1  # first item of the serialized list; bump when the layout changes
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class MemberStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ReceiptRecord:
    """What a receipt leaves behind: its fingerprint (duplicates) and what it earned (returns)."""

    fingerprint: bytes
    local_date: date
    occurred_at: datetime
    kind: ReceiptKind
    eligible: Decimal = Decimal(0)
    earned: int = 0  # EARN points (base x multiplier)
    qualifying: int = 0  # qualifying points booked on local_date
    campaign_points: tuple[tuple[str, int], ...] = ()
    tier: str = ""
    multiplier: Decimal = Decimal(1)
    returned: Decimal = Decimal(0)  # eligible amount returned so far
    earned_taken: int = 0
    qualifying_taken: int = 0
    campaign_taken: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class SeenEvent:
    """A member event already applied: its fingerprint and local date (dedupe horizon)."""

    fingerprint: bytes
    local_date: date


@dataclass(slots=True)
class MemberState:
    member_id: str
    tier: str = ""
    status: MemberStatus = MemberStatus.ACTIVE
    enrolled_at: datetime | None = None  # None: not a member (a refused first event)
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    consent_email: bool = False
    consent_sms: bool = False
    balance: int = 0
    reviewed_through: date | None = None  # the last local date whose review has run
    hold_until: date | None = None  # downgrade.hold_months: no downgrade before this date
    next_step_on: date | None = None  # one_down: the next one-level drop, if still due
    qualifying: dict[date, int] = field(default_factory=dict)  # local date -> QP booked
    lots: dict[date, int] = field(default_factory=dict)  # expires on -> points left
    receipts: dict[str, ReceiptRecord] = field(default_factory=dict)
    pending_returns: dict[str, Receipt] = field(default_factory=dict)
    member_events: dict[str, SeenEvent] = field(default_factory=dict)
    campaign_bonus: dict[str, int] = field(default_factory=dict)  # campaign id -> net bonus
    tier_bonus_on: dict[str, date] = field(default_factory=dict)  # tier -> entry bonus date

    @classmethod
    def unknown(cls, member_id: str) -> MemberState:
        """The state of an id that is not a member (a first event was refused)."""
        return cls(member_id=member_id)

    @property
    def is_member(self) -> bool:
        return self.enrolled_at is not None

    @property
    def qualifying_points(self) -> int:
        """Qualifying points in the window as of the last review."""
        return sum(self.qualifying.values())

    def copy(self) -> MemberState:
        """A working copy: containers are copied, their frozen items shared."""
        return MemberState(
            member_id=self.member_id,
            tier=self.tier,
            status=self.status,
            enrolled_at=self.enrolled_at,
            name=self.name,
            email=self.email,
            phone=self.phone,
            consent_email=self.consent_email,
            consent_sms=self.consent_sms,
            balance=self.balance,
            reviewed_through=self.reviewed_through,
            hold_until=self.hold_until,
            next_step_on=self.next_step_on,
            qualifying=dict(self.qualifying),
            lots=dict(self.lots),
            receipts=dict(self.receipts),
            pending_returns=dict(self.pending_returns),
            member_events=dict(self.member_events),
            campaign_bonus=dict(self.campaign_bonus),
            tier_bonus_on=dict(self.tier_bonus_on),
        )

    def to_bytes(self) -> bytes:
        """Compact msgpack: dates as ordinals, moments as epoch microseconds, money as text."""
        record = [
            _FORMAT,
            self.member_id,
            self.tier,
            self.status.value,
            _moment(self.enrolled_at),
            self.name,
            self.email,
            self.phone,
            int(self.consent_email) | int(self.consent_sms) << 1,
            self.balance,
            _day(self.reviewed_through),
            _day(self.hold_until),
            _day(self.next_step_on),
            _flat_days(self.qualifying),
            _flat_days(self.lots),
            [[key, *_receipt_record(value)] for key, value in self.receipts.items()],
            [_receipt(value) for value in self.pending_returns.values()],
            [
                [key, v.fingerprint, v.local_date.toordinal()]
                for key, v in self.member_events.items()
            ],
            [item for pair in self.campaign_bonus.items() for item in pair],
            [item for name, on in self.tier_bonus_on.items() for item in (name, on.toordinal())],
        ]
        packed: bytes = msgpack.packb(record, use_bin_type=True)
        return packed

    @classmethod
    def from_bytes(cls, data: bytes) -> MemberState:
        record: list[Any] = msgpack.unpackb(data, raw=False)
        if record[0] != _FORMAT:
            raise ValueError(f"member state format {record[0]} is not {_FORMAT}")
        consents = record[8]
        pending = [_receipt_from(item) for item in record[16]]
        return cls(
            member_id=record[1],
            tier=record[2],
            status=MemberStatus(record[3]),
            enrolled_at=_moment_from(record[4]),
            name=record[5],
            email=record[6],
            phone=record[7],
            consent_email=bool(consents & 1),
            consent_sms=bool(consents & 2),
            balance=record[9],
            reviewed_through=_day_from(record[10]),
            hold_until=_day_from(record[11]),
            next_step_on=_day_from(record[12]),
            qualifying=_days_from(record[13]),
            lots=_days_from(record[14]),
            receipts={item[0]: _receipt_record_from(item[1:]) for item in record[15]},
            pending_returns={receipt.receipt_id: receipt for receipt in pending},
            member_events={
                item[0]: SeenEvent(item[1], date.fromordinal(item[2])) for item in record[17]
            },
            campaign_bonus=dict(zip(record[18][::2], record[18][1::2], strict=True)),
            tier_bonus_on={
                name: date.fromordinal(on)
                for name, on in zip(record[19][::2], record[19][1::2], strict=True)
            },
        )


def _moment(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _moment_from(micros: int | None) -> datetime | None:
    return None if micros is None else _EPOCH + timedelta(microseconds=micros)


def _day(day: date | None) -> int | None:
    return None if day is None else day.toordinal()


def _day_from(ordinal: int | None) -> date | None:
    return None if ordinal is None else date.fromordinal(ordinal)


def _flat_days(by_day: dict[date, int]) -> list[int]:
    return [item for day, value in by_day.items() for item in (day.toordinal(), value)]


def _days_from(flat: list[int]) -> dict[date, int]:
    return {date.fromordinal(d): v for d, v in zip(flat[::2], flat[1::2], strict=True)}


def _pairs(pairs: tuple[tuple[str, int], ...]) -> list[Any]:
    return [item for pair in pairs for item in pair]


def _pairs_from(flat: list[Any]) -> tuple[tuple[str, int], ...]:
    return tuple(zip(flat[::2], flat[1::2], strict=True))


_KIND_CODE = {ReceiptKind.SALE: 0, ReceiptKind.RETURN: 1}
_KIND_OF = {code: kind for kind, code in _KIND_CODE.items()}
# A record's trailing fields at their defaults are left out (most receipts are never returned).
_RECORD_DEFAULTS: list[Any] = ["0", 0, 0, [], "", "1", "0", 0, 0, []]
_RECORD_REQUIRED = 4


def _receipt_record(r: ReceiptRecord) -> list[Any]:
    item: list[Any] = [
        r.fingerprint,
        r.local_date.toordinal(),
        _moment(r.occurred_at),
        _KIND_CODE[r.kind],
        str(r.eligible),
        r.earned,
        r.qualifying,
        _pairs(r.campaign_points),
        r.tier,
        str(r.multiplier),
        str(r.returned),
        r.earned_taken,
        r.qualifying_taken,
        _pairs(r.campaign_taken),
    ]
    while (
        len(item) > _RECORD_REQUIRED
        and item[-1] == _RECORD_DEFAULTS[len(item) - 1 - _RECORD_REQUIRED]
    ):
        item.pop()
    return item


def _receipt_record_from(item: list[Any]) -> ReceiptRecord:
    item = item + _RECORD_DEFAULTS[len(item) - _RECORD_REQUIRED :]
    occurred_at = _moment_from(item[2])
    assert occurred_at is not None
    return ReceiptRecord(
        fingerprint=item[0],
        local_date=date.fromordinal(item[1]),
        occurred_at=occurred_at,
        kind=_KIND_OF[item[3]],
        eligible=Decimal(item[4]),
        earned=item[5],
        qualifying=item[6],
        campaign_points=_pairs_from(item[7]),
        tier=item[8],
        multiplier=Decimal(item[9]),
        returned=Decimal(item[10]),
        earned_taken=item[11],
        qualifying_taken=item[12],
        campaign_taken=_pairs_from(item[13]),
    )


def _receipt(r: Receipt) -> list[Any]:
    return [
        r.receipt_id,
        r.member_id,
        r.store_id,
        _moment(r.occurred_at),
        r.currency,
        r.kind.value,
        [[ln.sku, ln.category, ln.quantity, str(ln.unit_price), str(ln.amount)] for ln in r.lines],
        str(r.total),
        r.terminal_id,
        r.original_receipt_id,
    ]


def _receipt_from(item: list[Any]) -> Receipt:
    occurred_at = _moment_from(item[3])
    assert occurred_at is not None
    return Receipt(
        receipt_id=item[0],
        member_id=item[1],
        store_id=item[2],
        occurred_at=occurred_at,
        currency=item[4],
        kind=ReceiptKind(item[5]),
        lines=tuple(
            LineItem(sku, category, quantity, Decimal(unit_price), Decimal(amount))
            for sku, category, quantity, unit_price, amount in item[6]
        ),
        total=Decimal(item[7]),
        terminal_id=item[8],
        original_receipt_id=item[9],
    )
