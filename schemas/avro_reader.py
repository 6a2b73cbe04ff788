"""The Avro body of a receipt in the current `Receipt.avsc`, read by hand into a `Receipt`.

Nearly every input is a receipt, and fastavro builds a dict per receipt and per line that is
then turned into the core's dataclasses; this reads the bytes straight into them, and shares
the checked `LineItem` of a line whose bytes were seen before (the same product at the same
price and quantity comes back receipt after receipt; a `LineItem` is immutable). It returns
only a plainly well-formed receipt whose lines pass `check_line`, from a body in canonical
form (as fastavro writes it: shortest varints and decimals, the lines in one block), so that
the body's digest is the receipt's fingerprint (`schemas.codec.receipt_digest`). Anything
else (truncated, a negative length, an unknown union branch, a block-sized array, bad UTF-8,
a line that breaks the contract, a longer encoding than needed, ...) raises `Unreadable`,
and the codec reads the message with fastavro and checks it in full, which reads it the
same way or names the error.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from agents.rules.events import LineItem, Receipt, ReceiptKind
from schemas.avro_values import enum_symbols, moment, money
from schemas.checks import check_line


class Unreadable(Exception):
    """Not plainly a well-formed receipt body: leave it to fastavro."""


_KINDS: Final = tuple(ReceiptKind(symbol) for symbol in enum_symbols("Receipt", "kind"))
# Lines seen before, checked and shared, by their first bytes: [(the line's Avro bytes, its
# LineItem), ...]. A line's bytes read the same whatever follows them (Avro fields say their
# own length), so data that starts with them at a line's position holds that line.
_LINES: dict[bytes, list[tuple[bytes, LineItem]]] = {}
_PREFIX: Final = 12  # a length and the sku, mostly: few lines share them
_VARIANTS: Final = 8  # lines kept per prefix (quantities and prices of one product)
_LINES_LIMIT: Final = 1 << 13  # prefixes


def _long(data: bytes, pos: int) -> tuple[int, int]:
    """A zigzag varint at `pos`: (value, position after it)."""
    unsigned = data[pos]
    if unsigned < 0x80:  # one byte: an array's count or end, a quantity
        return (unsigned >> 1) ^ -(unsigned & 1), pos + 1
    unsigned = 0
    for shift in range(0, 70, 7):
        byte = data[pos]
        pos += 1
        unsigned |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
    else:
        raise Unreadable("a varint longer than 10 bytes")
    if byte == 0:  # a last group of zeros: longer than it needs to be, so not canonical
        raise Unreadable("a varint in more bytes than its value needs")
    if unsigned >> 64:
        raise Unreadable("a varint beyond 64 bits")
    return (unsigned >> 1) ^ -(unsigned & 1), pos


def _end_of_bytes(data: bytes, pos: int) -> tuple[int, int]:
    """A string or bytes at `pos`: (where its content starts, where it ends)."""
    size = data[pos]
    if size < 0x80 and not size & 1:  # a length below 64: one byte, the usual case
        size >>= 1
        pos += 1
    else:
        size, pos = _long(data, pos)
        if size < 0:
            raise Unreadable("a negative length")
    end = pos + size
    if end > len(data):
        raise Unreadable("truncated")
    return pos, end


def _string(data: bytes, pos: int) -> tuple[str, int]:
    size = data[pos]
    if size < 0x80 and not size & 1:  # shorter than 64 bytes: the usual id or code
        end = pos + 1 + (size >> 1)
        if end > len(data):
            raise Unreadable("truncated")
        return data[pos + 1 : end].decode(), end
    start, end = _end_of_bytes(data, pos)
    return data[start:end].decode(), end


def _optional_string(data: bytes, pos: int) -> tuple[str | None, int]:
    branch = data[pos]
    if branch == 0:
        return None, pos + 1
    if branch == 2:
        return _string(data, pos + 1)
    raise Unreadable("an unknown union branch")


def _money(raw: bytes, field: str) -> Decimal:
    """A decimal(12, 2) >= 0 in its shortest two's complement: a sign byte only where the
    next byte's top bit is set (fastavro's form). Anything else is not canonical."""
    if raw[0] >= 0x80 or (raw[0] == 0 and len(raw) > 1 and raw[1] < 0x80):
        raise Unreadable(f"{field} is negative or not in its shortest form")
    return money(raw, field)


def _line(data: bytes, pos: int) -> tuple[LineItem, int]:
    """The line at `pos` and where it ends: a line seen before, or one read and checked."""
    seen = _LINES.get(data[pos : pos + _PREFIX])
    if seen is not None:
        for encoded, line in seen:
            if data.startswith(encoded, pos):
                return line, pos + len(encoded)
    return _new_line(data, pos)


def _new_line(data: bytes, start: int) -> tuple[LineItem, int]:
    """Read a line not seen before, check it, and keep it for the next receipts."""
    sku, pos = _string(data, start)
    category, pos = _string(data, pos)
    quantity, pos = _long(data, pos)
    unit_price_start, unit_price_end = _end_of_bytes(data, pos)
    amount_start, end = _end_of_bytes(data, unit_price_end)
    line = LineItem(
        sku,
        category,
        quantity,
        _money(data[unit_price_start:unit_price_end], "lines[].unit_price"),
        _money(data[amount_start:end], "lines[].amount"),
    )
    check_line(line, 0)  # a line that fails is not kept; the full check names it
    if len(_LINES) >= _LINES_LIMIT:
        _LINES.clear()  # rare: simplest bound, lines are read again
    seen = _LINES.setdefault(data[start : start + _PREFIX], [])
    if len(seen) < _VARIANTS:
        seen.append((data[start:end], line))
    return line, end


def read_receipt(data: bytes, pos: int) -> Receipt:
    """The receipt whose body starts at `pos` and runs to the end of `data`; its lines are
    checked (`check_line`), the rest of the contract is not."""
    try:
        receipt_id, pos = _string(data, pos)
        member_id, pos = _string(data, pos)
        store_id, pos = _string(data, pos)
        terminal_id, pos = _optional_string(data, pos)
        millis, pos = _long(data, pos)
        currency, pos = _string(data, pos)
        kind = data[pos]
        if kind & 1 or kind >= 2 * len(_KINDS):
            raise Unreadable("an unknown receipt kind")
        original_receipt_id, pos = _optional_string(data, pos + 1)
        lines: list[LineItem] = []
        count, pos = _long(data, pos)
        if count < 0:
            raise Unreadable("a block-sized array")
        if count:  # canonical: every line in one block, then the empty block
            for _ in range(count):
                line, pos = _line(data, pos)
                lines.append(line)
            if data[pos] != 0:
                raise Unreadable("lines in more than one block")
            pos += 1
        total_start, pos = _end_of_bytes(data, pos)
        if pos != len(data):
            raise Unreadable("trailing bytes")
        return Receipt(
            receipt_id,
            member_id,
            store_id,
            moment(millis, "occurred_at"),
            currency,
            _KINDS[kind >> 1],
            tuple(lines),
            _money(data[total_start:pos], "total"),
            terminal_id,
            original_receipt_id,
        )
    except Unreadable:
        raise
    except Exception as exc:  # IndexError past the end, UnicodeDecodeError, CheckFailed, ...
        raise Unreadable(f"{type(exc).__name__}: {exc}") from None
