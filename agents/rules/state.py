"""A member's state: tier, balance, qualifying points by local date, lots, recent receipts.

`apply` never mutates the state it is given: it works on `copy()` and returns the copy. The
state stays bounded (see docs/rules.md, "What a member's state keeps") and serializes to
compact msgpack, because the worker writes it to a changelog on every change.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import starmap
from typing import Any, NamedTuple

import msgpack

from agents.rules.events import LineItem, Receipt, ReceiptKind

_FORMAT = 2  # first item of the serialized list; bump when the layout changes
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_MICROSECOND = timedelta(microseconds=1)


class MemberStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    CLOSED = "closed"


class ReceiptRecord(NamedTuple):
    """What a receipt leaves behind: its fingerprint (duplicates) and what it earned (returns).

    Plain values only (epoch seconds, money in cents, the tier by position), because every
    member's receipts are written to the changelog on every change; the local date, rate and
    amounts are read back with the program (`local_date`, `earned_at`) or as properties.
    """

    fingerprint: bytes
    occurred_s: int  # occurred_at, whole epoch seconds (rounded down)
    returned_receipt: bool  # a RETURN (nothing to take back from it)
    eligible_amount: int | str = 0  # in cents; as text if not a whole number of cents
    earned: int = 0  # EARN points (base x multiplier)
    qualifying: int = 0  # qualifying points booked on the local date
    campaign_points: tuple[tuple[str, int], ...] = ()
    tier_position: int = 0  # the tier it earned at, in the version in force at occurred_at
    returned_amount: int | str = 0  # eligible amount returned so far, like eligible_amount
    earned_taken: int = 0
    qualifying_taken: int = 0
    campaign_taken: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(
        cls,
        fingerprint: bytes,
        occurred_at: datetime,
        kind: ReceiptKind,
        *,
        eligible: Decimal = Decimal(0),
        earned: int = 0,
        qualifying: int = 0,
        campaign_points: tuple[tuple[str, int], ...] = (),
        tier_position: int = 0,
    ) -> ReceiptRecord:
        return cls(
            fingerprint,
            epoch_seconds(occurred_at),
            kind is ReceiptKind.RETURN,
            money_value(eligible),
            earned,
            qualifying,
            campaign_points,
            tier_position,
        )

    @property
    def occurred_at(self) -> datetime:
        return _EPOCH + timedelta(seconds=self.occurred_s)

    @property
    def kind(self) -> ReceiptKind:
        return ReceiptKind.RETURN if self.returned_receipt else ReceiptKind.SALE

    @property
    def eligible(self) -> Decimal:
        return money_from(self.eligible_amount)

    @property
    def returned(self) -> Decimal:
        return money_from(self.returned_amount)


_RECORD = ReceiptRecord(b"", 0, False)
_RECORD_TAIL = _RECORD[8:]  # defaults of a never-returned sale
_RECORD_EARNINGS = _RECORD[3:8]  # defaults of a return's record


def _packed_record(record: ReceiptRecord) -> tuple[Any, ...]:
    """The record without its trailing defaults: most sales are never returned."""
    if record[8:] != _RECORD_TAIL:
        return tuple(record)
    if record[3:8] != _RECORD_EARNINGS:
        return record[:8]
    return record[:3]


def money_value(amount: Decimal) -> int | str:
    """Money as whole cents when it is (almost always), else as exact text."""
    cents = amount.scaleb(2)
    if cents == cents.to_integral_value():
        return int(cents)
    return str(amount)


def money_from(value: int | str) -> Decimal:
    return Decimal(value).scaleb(-2) if isinstance(value, int) else Decimal(value)


class SeenEvent(NamedTuple):
    """A member event already applied: its fingerprint and local date (dedupe horizon)."""

    fingerprint: bytes
    day: int  # local date, as an ordinal

    @property
    def local_date(self) -> date:
        return date.fromordinal(self.day)


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
        """A working copy: containers are copied, their immutable items shared.

        Written out rather than `dataclasses.replace`: it runs once per event.
        """
        new = MemberState.__new__(MemberState)
        new.member_id = self.member_id
        new.tier = self.tier
        new.status = self.status
        new.enrolled_at = self.enrolled_at
        new.name = self.name
        new.email = self.email
        new.phone = self.phone
        new.consent_email = self.consent_email
        new.consent_sms = self.consent_sms
        new.balance = self.balance
        new.reviewed_through = self.reviewed_through
        new.hold_until = self.hold_until
        new.next_step_on = self.next_step_on
        new.qualifying = self.qualifying.copy()
        new.lots = self.lots.copy()
        new.receipts = self.receipts.copy()
        new.pending_returns = self.pending_returns.copy()
        new.member_events = self.member_events.copy()
        new.campaign_bonus = self.campaign_bonus.copy()
        new.tier_bonus_on = self.tier_bonus_on.copy()
        return new

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
            _interleaved(self.receipts, map(_packed_record, self.receipts.values())),
            [_receipt(value) for value in self.pending_returns.values()],
            [item for key, seen in self.member_events.items() for item in (key, *seen)],
            _interleaved(self.campaign_bonus, self.campaign_bonus.values()),
            _interleaved(self.tier_bonus_on, map(date.toordinal, self.tier_bonus_on.values())),
        ]
        packed: bytes = msgpack.packb(record, use_bin_type=True)
        return packed

    @classmethod
    def from_bytes(cls, data: bytes) -> MemberState:
        record: tuple[Any, ...] = msgpack.unpackb(data, raw=False, use_list=False)
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
            receipts=dict(
                zip(record[15][::2], starmap(ReceiptRecord, record[15][1::2]), strict=True)
            ),
            pending_returns={receipt.receipt_id: receipt for receipt in pending},
            member_events={
                key: SeenEvent(fingerprint, day)
                for key, fingerprint, day in zip(
                    record[17][::3], record[17][1::3], record[17][2::3], strict=True
                )
            },
            campaign_bonus=dict(zip(record[18][::2], record[18][1::2], strict=True)),
            tier_bonus_on=dict(
                zip(record[19][::2], map(date.fromordinal, record[19][1::2]), strict=True)
            ),
        )


def epoch_seconds(moment: datetime) -> int:
    return (moment - _EPOCH) // _SECOND


def epoch_micros(moment: datetime) -> int:
    """A moment as whole microseconds since 1970 (exact, unlike a float timestamp)."""
    return (moment - _EPOCH) // _MICROSECOND


def _moment(moment: datetime | None) -> int | None:
    return None if moment is None else epoch_micros(moment)


def _moment_from(micros: int | None) -> datetime | None:
    return None if micros is None else _EPOCH + timedelta(microseconds=micros)


def _day(day: date | None) -> int | None:
    return None if day is None else day.toordinal()


def _day_from(ordinal: int | None) -> date | None:
    return None if ordinal is None else date.fromordinal(ordinal)


def _interleaved(keys: Collection[Any], values: Iterable[Any]) -> list[Any]:
    """[key, value, key, value, ...]: filled by two slice assignments, which run in C, rather
    than a tuple per pair (to_bytes runs on every change of a member)."""
    flat: list[Any] = [None] * (2 * len(keys))
    flat[::2] = keys
    flat[1::2] = values
    return flat


def _flat_days(by_day: dict[date, int]) -> list[int]:
    return _interleaved(list(map(date.toordinal, by_day)), by_day.values())


def _days_from(flat: tuple[int, ...]) -> dict[date, int]:
    return dict(zip(map(date.fromordinal, flat[::2]), flat[1::2], strict=True))


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


def _receipt_from(item: tuple[Any, ...]) -> Receipt:
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
