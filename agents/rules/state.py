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
from typing import NamedTuple

import msgspec

from agents.rules.events import Receipt, ReceiptKind

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
        """The format byte, then the fields as one msgpack array (`_Layout`): dates as ISO
        text, times as msgpack timestamps, receipt records as arrays."""
        return _FORMAT_BYTE + _ENCODER.encode(
            (
                self.member_id,
                self.tier,
                self.status,
                self.enrolled_at,
                self.name,
                self.email,
                self.phone,
                self.consent_email,
                self.consent_sms,
                self.balance,
                self.reviewed_through,
                self.hold_until,
                self.next_step_on,
                self.qualifying,
                self.lots,
                self.receipts,
                self.pending_returns,
                self.member_events,
                self.campaign_bonus,
                self.tier_bonus_on,
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> MemberState:
        """Reads what `to_bytes` writes, and the bytes of format 2 (changelogs written before
        format 3 hold them; see `agents.rules.state_format2`)."""
        if data[:1] != _FORMAT_BYTE:
            from agents.rules.state_format2 import state_from_format2

            return state_from_format2(data)
        new = cls.__new__(cls)
        (
            new.member_id,
            new.tier,
            new.status,
            new.enrolled_at,
            new.name,
            new.email,
            new.phone,
            new.consent_email,
            new.consent_sms,
            new.balance,
            new.reviewed_through,
            new.hold_until,
            new.next_step_on,
            new.qualifying,
            new.lots,
            new.receipts,
            new.pending_returns,
            new.member_events,
            new.campaign_bonus,
            new.tier_bonus_on,
        ) = _DECODER.decode(memoryview(data)[1:])
        return new


# The serialized layout: MemberState's fields, in order. Format 2 was a msgpack array whose
# first item was 2, so its first byte is an array header, never this one.
_FORMAT_BYTE = b"\x03"
_Layout = tuple[
    str,
    str,
    MemberStatus,
    datetime | None,
    str | None,
    str | None,
    str | None,
    bool,
    bool,
    int,
    date | None,
    date | None,
    date | None,
    dict[date, int],
    dict[date, int],
    dict[str, ReceiptRecord],
    dict[str, Receipt],
    dict[str, SeenEvent],
    dict[str, int],
    dict[str, date],
]
_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(_Layout)


def epoch_seconds(moment: datetime) -> int:
    return (moment - _EPOCH) // _SECOND


def epoch_micros(moment: datetime) -> int:
    """A moment as whole microseconds since 1970 (exact, unlike a float timestamp)."""
    return (moment - _EPOCH) // _MICROSECOND
