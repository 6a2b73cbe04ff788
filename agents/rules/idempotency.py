"""Idempotency: receipts and member events are keyed by their ids and fingerprinted by content.

The same id with the same content is a no-op; with different content it is refused
(`conflicting_duplicate`). Ids are remembered for the dedupe horizon: `window_months` (at
least 12) of the member's event time (see docs/rules.md); older inputs are `stale_event`.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from hashlib import blake2b

from agents.rules.events import LineItem, MemberEvent, Receipt, ReceiptKind
from agents.rules.memo import derived
from agents.rules.program import Program
from agents.rules.state import MemberState, epoch_micros, epoch_seconds
from agents.rules.window import day_start, first_counted

_EVENT_FIELDS = tuple(f.name for f in fields(MemberEvent))
_KINDS = {kind: kind.value for kind in ReceiptKind}  # `.value` is a Python property: slower


class Seen(Enum):
    NEW = "new"
    SAME = "same"
    CONFLICTING = "conflicting"


def _money(value: Decimal) -> str:
    return str(value.normalize())  # 10.0 and 10.00 are the same money


# Totals' texts by the Decimal's identity, like the lines' below: the codec shares the Decimal
# of an amount it has read before.
_MONEY_TEXTS: dict[int, tuple[Decimal, str]] = {}
_MONEY_TEXTS_LIMIT = 1 << 14


def _money_text(value: Decimal) -> str:
    known = _MONEY_TEXTS.get(id(value))
    if known is not None and known[0] is value:
        return known[1]
    text = _money(value)
    if len(_MONEY_TEXTS) >= _MONEY_TEXTS_LIMIT:
        _MONEY_TEXTS.clear()  # rare: simplest bound
    _MONEY_TEXTS[id(value)] = (value, text)
    return text


_BLAKE2B_8 = blake2b(digest_size=8)  # copied, not built: keyword construction costs double
TEXT_FINGERPRINT_SIZE = 8


def _digest(text: str) -> bytes:
    digest = _BLAKE2B_8.copy()
    digest.update(text.encode())
    return digest.digest()


# The text of a line, by the line's identity: the codec shares the `LineItem` of a line seen
# before, so most lines of most receipts are found here. Each entry holds its line, so the id
# cannot be reused while the entry lives. Bounded.
_LINE_TEXTS: dict[int, tuple[LineItem, str]] = {}
_LINE_TEXTS_LIMIT = 1 << 14


def _line_text(line: LineItem) -> str:
    known = _LINE_TEXTS.get(id(line))
    if known is not None and known[0] is line:
        return known[1]
    # `_money` written out (`!s` of the normalized value).
    text = (
        f"{line.sku}\x1f{line.category}\x1f{line.quantity}\x1f"
        f"{line.unit_price.normalize()!s}\x1f{line.amount.normalize()!s}"
    )
    if len(_LINE_TEXTS) >= _LINE_TEXTS_LIMIT:
        _LINE_TEXTS.clear()  # rare: simplest bound
    _LINE_TEXTS[id(line)] = (line, text)
    return text


def receipt_fingerprint(receipt: Receipt) -> bytes:
    """What tells two receipts of one id apart: equal content, equal fingerprint.

    A receipt the codec decoded carries the digest of its canonical wire form (its body in
    `Receipt.avsc`, 12 bytes; schemas/codec.py), which costs a hash of bytes already read. A
    receipt made in code has none and gets the digest of its content as text (8 bytes);
    member states written before the codec's digests hold these too. `receipt_seen` compares
    a stored fingerprint with the same kind of the new receipt's.
    """
    return receipt.fingerprint or text_fingerprint(receipt)


def text_fingerprint(receipt: Receipt) -> bytes:
    lines = "\x1e".join([_line_text(line) for line in receipt.lines])
    return _digest(
        f"{receipt.receipt_id}\x1f{receipt.member_id}\x1f{receipt.store_id}\x1f"
        f"{epoch_micros(receipt.occurred_at)}\x1f{receipt.currency}\x1f{_KINDS[receipt.kind]}\x1f"
        f"{_money_text(receipt.total)}\x1f{receipt.terminal_id}\x1f{receipt.original_receipt_id}"
        f"\x1d{lines}"
    )


def event_fingerprint(event: MemberEvent) -> bytes:
    return _digest("\x1f".join(_text(getattr(event, name)) for name in _EVENT_FIELDS))


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return str(epoch_micros(value))
    if isinstance(value, Enum):
        return str(value.value)
    return repr(value)


def receipt_seen(state: MemberState, receipt: Receipt, fingerprint: bytes) -> Seen:
    record = state.receipts.get(receipt.receipt_id)
    if record is not None:
        return Seen.SAME if _same(record.fingerprint, receipt, fingerprint) else Seen.CONFLICTING
    pending = state.pending_returns.get(receipt.receipt_id)
    if pending is not None:  # the waiting return itself is kept: compared by value
        return Seen.SAME if pending == receipt else Seen.CONFLICTING
    return Seen.NEW


def _same(stored: bytes, receipt: Receipt, fingerprint: bytes) -> bool:
    if len(stored) == len(fingerprint):
        return stored == fingerprint
    if len(stored) == TEXT_FINGERPRINT_SIZE:  # a state written before the codec's digests
        return stored == text_fingerprint(receipt)
    # A codec's digest is stored and this receipt was made in code: every receipt reaches the
    # worker through the codec, so only a test that mixes the two ways gets here.
    raise ValueError(
        f"receipt {receipt.receipt_id}: a decoded receipt's fingerprint cannot be compared "
        "with one made in code; decode it (schemas.codec) first"
    )


def event_seen(state: MemberState, event: MemberEvent, fingerprint: bytes) -> Seen:
    seen = state.member_events.get(event.event_id)
    if seen is None:
        return Seen.NEW
    return Seen.SAME if seen.fingerprint == fingerprint else Seen.CONFLICTING


MIN_HORIZON_MONTHS = 12  # a short window must not make a late POS upload unreadable


def horizon_months(program: Program, day: date) -> int:
    """How long receipts and member events are remembered: the window, and at least a year."""
    versions = program.versions
    if len(versions) == 1:
        return max(versions[0].window_months, MIN_HORIZON_MONTHS)  # no midnight to build
    window = program.version_at(datetime.combine(day, datetime.min.time())).window_months
    return max(window, MIN_HORIZON_MONTHS)


def is_stale(state: MemberState, day: date, program: Program) -> bool:
    """Older than what the member's state still remembers, so a duplicate could not be told."""
    through = state.reviewed_through
    if through is None or day >= through:
        return False  # the usual case, in order: no calendar arithmetic needed
    return day < first_counted(through, horizon_months(program, through))


def forget_beyond_horizon(state: MemberState, program: Program) -> None:
    """Prune receipts, event ids, entry-bonus dates and campaign totals past the horizon."""
    through = state.reviewed_through
    if through is None:
        return
    # Cut by the month of the clock, not its day: the result is then the same whenever in the
    # month pruning runs, so ticks delivered live or not offline leave the same state.
    month = date(through.year, through.month, 1)
    months = horizon_months(program, through)
    first, oldest, cutoff = derived(
        program, ("horizon_cut", month, months), lambda: _horizon_cut(program, month, months)
    )
    for receipt_id in [key for key, r in state.receipts.items() if r.occurred_s < cutoff]:
        del state.receipts[receipt_id]
    for event_id in [key for key, seen in state.member_events.items() if seen.day < oldest]:
        del state.member_events[event_id]
    for tier in [name for name, on in state.tier_bonus_on.items() if on < first]:
        del state.tier_bonus_on[tier]
    if state.campaign_bonus:
        last_days = derived(program, "campaign_last_days", lambda: _campaign_last_days(program))
        for campaign_id in list(state.campaign_bonus):
            last_day = last_days.get(campaign_id)
            # A campaign's total is kept while a receipt inside it could still arrive (or be
            # returned).
            if last_day is None or last_day < first:
                del state.campaign_bonus[campaign_id]


def _horizon_cut(program: Program, month: date, months: int) -> tuple[date, int, int]:
    """(first date kept, as an ordinal, its local start in epoch seconds) for a clock month."""
    first = first_counted(month, months)
    return first, first.toordinal(), epoch_seconds(day_start(first, program.zone))


def _campaign_last_days(program: Program) -> dict[str, date]:
    """Campaign id -> the date its latest version ends (local), over every program version."""
    last_days: dict[str, date] = {}
    for version in program.versions:
        for campaign in version.campaigns:
            ends = campaign.ends.date()
            if campaign.id not in last_days or last_days[campaign.id] < ends:
                last_days[campaign.id] = ends
    return last_days
