"""The contract's semantic checks, written once: the codec's fast path and the pydantic models
(and so the JSON Lines reader) both call these.

Each check raises `CheckFailed(field, message)`, a `ValueError`, so pydantic reports it as a
validation error and the codec turns it into a `CodecError` with the receipt or event code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Final

from agents.rules.events import LineItem, MemberEvent, MemberEventType, Receipt, ReceiptKind

MAX_ID_LENGTH: Final = 128
MAX_NAME_LENGTH: Final = 256
MAX_EMAIL_LENGTH: Final = 254  # RFC 5321 path limit
MAX_PHONE_LENGTH: Final = 32
MAX_TEXT_LENGTH: Final = 1000
MAX_LINES: Final = 1000
MAX_QUANTITY: Final = 1_000_000
# Avro decimal(12, 2): at most 12 digits, 2 after the point.
MONEY_SCALE: Final = 2
MAX_MONEY: Final = Decimal("9999999999.99")
CENT: Final = Decimal("0.01")
ZERO: Final = Decimal(0)
MAX_POINTS: Final = 10**12
# Fixed bounds, not "now + 1 day": the codec must give the same answer on every replay.
# Brokers may still refuse records stamped far in the future (log.message.timestamp.after.max.ms);
# tierflow producers stamp records with the produce time and keep event time in the payload.
EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2100, 1, 1, tzinfo=UTC)  # exclusive
EARLIEST_DATE: Final = date(2000, 1, 1)
LATEST_DATE: Final = date(2099, 12, 31)

# ISO 4217 active currency codes (2024 list), without funds, precious metals and test codes.
ISO_4217: Final = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR
    FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD
    JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT
    MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
    QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB
    TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF
    XPF YER ZAR ZMW ZWG ZWL
    """.split()  # noqa: SIM905 (a block of codes reads better than 160 quoted strings)
)


class CheckFailed(ValueError):
    """A value that breaks the contract; `field` is its path (`lines[2].quantity`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def check_id(value: str, field: str) -> None:
    """Ids are 1..128 characters and not blank (they are keys and idempotency keys)."""
    if not value or len(value) > MAX_ID_LENGTH or value.isspace():
        if len(value) > MAX_ID_LENGTH:
            raise CheckFailed(field, f"is {len(value)} characters long; at most 128")
        raise CheckFailed(field, "must not be empty")


def check_optional_id(value: str | None, field: str) -> None:
    if value is not None:
        check_id(value, field)


def check_text(value: str | None, field: str, limit: int = MAX_TEXT_LENGTH) -> None:
    """Free text is optional but bounded, so one record cannot carry a megabyte of it."""
    if value is not None and len(value) > limit:
        raise CheckFailed(field, f"is {len(value)} characters long; at most {limit}")


def check_currency(code: str, field: str = "currency") -> None:
    """An ISO 4217 code; whether it is the program's currency is the rules' decision."""
    if code not in ISO_4217:
        raise CheckFailed(field, f"{code[:16]!r} is not an ISO 4217 currency code")


def check_money(value: Decimal, field: str) -> None:
    """Money is finite, >= 0, at most 2 decimal places and 12 digits (Avro decimal(12, 2))."""
    if not value.is_finite():
        raise CheckFailed(field, f"{value} is not an amount")
    if value < ZERO:
        raise CheckFailed(field, f"{value} is negative; a RETURN lists positive amounts")
    if value > MAX_MONEY:
        raise CheckFailed(field, f"{value} exceeds 9999999999.99")
    # 1.230 is a fine 2-place amount, 1.234 is not; bounded above, so quantize cannot overflow.
    if value.quantize(CENT) != value:
        raise CheckFailed(field, f"{value} has more than 2 decimal places")


def check_quantity(value: int, field: str) -> None:
    if not 0 < value <= MAX_QUANTITY:
        raise CheckFailed(field, f"is {value}; must be between 1 and {MAX_QUANTITY}")


def check_moment(value: datetime, field: str) -> None:
    """Event times are timezone-aware and inside [2000-01-01, 2100-01-01) UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise CheckFailed(field, "must carry a timezone (UTC offset)")
    if not EARLIEST <= value < LATEST:
        raise CheckFailed(field, f"{value.isoformat()} is outside 2000-01-01 .. 2100-01-01")


def check_date(value: date, field: str) -> None:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise CheckFailed(field, f"{value.isoformat()} is outside 2000-01-01 .. 2099-12-31")


def check_points(value: int, field: str) -> None:
    if not -MAX_POINTS <= value <= MAX_POINTS:
        raise CheckFailed(field, f"is {value}; at most {MAX_POINTS} in size")


def check_line(line: LineItem, index: int) -> None:
    try:
        check_id(line.sku, "sku")
        check_id(line.category, "category")
        check_quantity(line.quantity, "quantity")
        check_money(line.unit_price, "unit_price")
        check_money(line.amount, "amount")
    except CheckFailed as failed:
        # Field paths are built only on failure: this runs for every line of every receipt.
        raise CheckFailed(f"lines[{index}].{failed.field}", failed.message) from None


def check_lines_total(lines: Sequence[LineItem], total: Decimal) -> None:
    """Lines are 1..1000 and `total` equals the sum of the line amounts, to the cent."""
    if not lines:
        raise CheckFailed("lines", "a receipt needs at least one line")
    if len(lines) > MAX_LINES:
        raise CheckFailed("lines", f"{len(lines)} lines; at most {MAX_LINES}")
    line_sum = sum([line.amount for line in lines], ZERO)
    if line_sum != total:
        raise CheckFailed("total", f"is {total} but the lines add up to {line_sum}")


def check_return_names_original(
    kind: ReceiptKind, original_receipt_id: str | None, receipt_id: str
) -> None:
    if kind is ReceiptKind.RETURN:
        if original_receipt_id is None:
            raise CheckFailed("original_receipt_id", "a RETURN must name its original sale")
        check_id(original_receipt_id, "original_receipt_id")
        if original_receipt_id == receipt_id:
            raise CheckFailed("original_receipt_id", "a RETURN cannot return itself")
    elif original_receipt_id is not None:
        raise CheckFailed("original_receipt_id", "only a RETURN names an original receipt")


def check_receipt(receipt: Receipt, *, lines_checked: bool = False) -> None:
    """Every rule of the contract's Receipt; raises `CheckFailed` on the first one broken.

    `lines_checked`: every line has passed `check_line` already (the codec's reader checks
    them as it reads), so only their count and total are checked here.
    """
    check_id(receipt.receipt_id, "receipt_id")
    check_id(receipt.member_id, "member_id")
    check_id(receipt.store_id, "store_id")
    check_optional_id(receipt.terminal_id, "terminal_id")
    check_moment(receipt.occurred_at, "occurred_at")
    check_currency(receipt.currency)
    check_return_names_original(receipt.kind, receipt.original_receipt_id, receipt.receipt_id)
    lines = receipt.lines
    # check_lines_total names the count: skip 10,000 line checks.
    if not lines_checked and len(lines) <= MAX_LINES:
        for index, line in enumerate(lines):
            check_line(line, index)
    check_money(receipt.total, "total")
    check_lines_total(lines, receipt.total)


def check_member_event(event: MemberEvent) -> None:
    """Every rule of the contract's MemberEvent, the type's own fields included."""
    check_id(event.event_id, "event_id")
    check_id(event.member_id, "member_id")
    check_moment(event.occurred_at, "occurred_at")
    check_text(event.name, "name", MAX_NAME_LENGTH)
    check_text(event.email, "email", MAX_EMAIL_LENGTH)
    if event.email is not None and "@" not in event.email:
        raise CheckFailed("email", "is not an e-mail address (no @)")
    check_text(event.phone, "phone", MAX_PHONE_LENGTH)
    check_text(event.actor, "actor", MAX_ID_LENGTH)
    check_text(event.reason, "reason")
    check_optional_id(event.reward_id, "reward_id")
    kind = event.type
    points = event.points
    if kind is MemberEventType.POINTS_ADJUSTED:
        if points is None or points == 0:
            raise CheckFailed("points", "points_adjusted needs non-zero signed points")
        check_points(points, "points")
        if not event.actor or event.actor.isspace():
            raise CheckFailed("actor", "points_adjusted needs the actor who adjusted")
        if not event.reason or event.reason.isspace():
            raise CheckFailed("reason", "points_adjusted needs a reason")
    elif kind is MemberEventType.POINTS_REDEEMED:
        if points is None or points <= 0:
            raise CheckFailed("points", "points_redeemed needs points > 0")
        check_points(points, "points")
    elif points is not None:
        raise CheckFailed("points", f"{kind.value} carries no points")
