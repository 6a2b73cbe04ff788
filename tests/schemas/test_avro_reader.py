"""The hand-written receipt reader of schemas.avro_reader reads a receipt as fastavro does,
and leaves anything it doubts to fastavro: the codec's answer (a receipt, or the error's code,
message and field) is the same either way."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_codec_malformed import GOOD, HEADER, line, millis, raw_receipt
from test_codec_properties import receipts
from wire_examples import a_receipt, a_return, one_line_receipt

from agents.rules.events import Receipt
from schemas.avro_reader import Unreadable, read_receipt
from schemas.codec import Codec, CodecError

CODEC = Codec()
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _both_ways(data: bytes) -> tuple[Any, Any]:
    """(what `decode_receipt` gives, what the fastavro path gives): a receipt, or the error's
    code, message and field."""

    def outcome(decode: Any) -> Any:
        try:
            return decode(data)
        except CodecError as error:
            return (error.code, error.message, error.field)

    return outcome(CODEC.decode_receipt), outcome(CODEC._decode_receipt_with_fastavro)


@SETTINGS
@given(receipts())
def test_any_valid_receipt_is_read_by_hand_as_fastavro_reads_it(receipt: Receipt) -> None:
    data = CODEC.encode(receipt)
    assert read_receipt(data, 10) == receipt
    assert _both_ways(data) == (receipt, receipt)


@SETTINGS
@given(receipts(), st.data())
def test_a_corrupted_receipt_gets_the_same_answer_both_ways(
    receipt: Receipt, data: st.DataObject
) -> None:
    encoded = bytearray(CODEC.encode(receipt))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        position = data.draw(st.integers(min_value=10, max_value=len(encoded) - 1))
        encoded[position] = data.draw(st.integers(min_value=0, max_value=255))
    cut = data.draw(st.integers(min_value=10, max_value=len(encoded)))
    decoded, by_fastavro = _both_ways(bytes(encoded[:cut]))
    assert decoded == by_fastavro


BAD_BODIES = {
    "truncated": GOOD[:-5],
    "trailing bytes": GOOD + b"\x00\x01",
    "string length past the end": HEADER + b"\xfe\xff\xff\xff\x0f" + b"R",
    "negative string length": HEADER + b"\x03R",
    "eleven-byte varint": HEADER + b"\x02R\x02M\x02S\x00" + b"\xff" * 10 + b"\x01",
    "bad UTF-8": raw_receipt()[:11] + b"\xff" + raw_receipt()[12:],
    "negative quantity": raw_receipt(lines=[line(quantity=-1)], total=b"\x64"),
    "zero quantity": raw_receipt(lines=[line(quantity=0)], total=b"\x64"),
    "quantity past 64 bits": raw_receipt(lines=[line(quantity=2**62)], total=b"\x64"),
    "no lines": raw_receipt(lines=[], total=b"\x00"),
    "too many lines": raw_receipt(lines=[line()] * 1001, total=(1001 * 100).to_bytes(4, "big")),
    "negative amount": raw_receipt(lines=[line(cents=-100)], total=b"\xff\x9c"),
    "oversized decimal": raw_receipt(total=b"\x7f" + b"\xff" * 19),
    "empty member id": raw_receipt(member_id=""),
    "blank store id": raw_receipt(store_id="   "),
    "return without original": raw_receipt(kind="RETURN"),
    "sale with original": raw_receipt(original_receipt_id="R-0"),
    "before 2000": raw_receipt(occurred_at=millis(datetime(1970, 1, 2, tzinfo=UTC))),
    "time out of range": raw_receipt(occurred_at=2**62),
    "total mismatch": raw_receipt(total=b"\x03"),
    "bad receipt id and bad line": raw_receipt(receipt_id="", lines=[line(quantity=0)]),
    "bad line and bad total": raw_receipt(lines=[line(quantity=0)], total=b"\x03"),
    "unknown currency": raw_receipt(currency="XYZ"),
}


@pytest.mark.parametrize("data", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_bad_receipt_gets_the_same_error_both_ways(data: bytes) -> None:
    decoded, by_fastavro = _both_ways(data)
    assert isinstance(by_fastavro, tuple)
    assert decoded == by_fastavro


def test_a_line_that_breaks_the_contract_is_named_every_time() -> None:
    data = raw_receipt(lines=[line(), line(quantity=0)], total=b"\x02\x00")
    for _ in range(2):  # the second time too: a refused line is not remembered as checked
        with pytest.raises(CodecError) as raised:
            CODEC.decode_receipt(data)
        assert (raised.value.code, raised.value.field) == ("invalid_receipt", "lines[1].quantity")


def test_a_line_seen_before_is_shared_between_receipts() -> None:
    first = CODEC.decode_receipt(CODEC.encode(a_receipt()))
    second = CODEC.decode_receipt(CODEC.encode(a_receipt(receipt_id="R-other")))
    assert first.lines == second.lines
    assert all(a is b for a, b in zip(first.lines, second.lines, strict=True))


@pytest.mark.parametrize("receipt", [a_receipt(), a_return(), one_line_receipt(a_receipt().total)])
def test_an_example_is_read_by_hand(receipt: Receipt) -> None:
    assert read_receipt(CODEC.encode(receipt), 10) == receipt


def test_the_reader_gives_up_on_a_block_sized_array() -> None:
    # Avro lets a writer give an array block's size in bytes (a negative count); fastavro
    # reads it, the hand-written reader leaves it to fastavro.
    good = raw_receipt()
    lines_at = good.index(b"\x02\x02A")  # one line, then its sku
    body = good[lines_at + 1 : -3]  # the line: then come the array's end (0) and the total
    blocked = good[:lines_at] + b"\x01" + bytes([len(body) * 2]) + body + good[-3:]
    with pytest.raises(Unreadable):
        read_receipt(blocked, 10)
    assert CODEC.decode_receipt(blocked) == CODEC.decode_receipt(good)


def test_lines_that_start_alike_are_told_apart() -> None:
    # Same sku and category (the bytes lines are first found by), other quantity and price.
    for quantity, cents in [(1, 100), (2, 100), (2, 250), (1, 100), (40, 9_999_999)]:
        data = raw_receipt(lines=[line(quantity, cents)], total=cents.to_bytes(8, "big"))
        decoded = CODEC.decode_receipt(data)
        assert decoded == CODEC._decode_receipt_with_fastavro(data)
        assert (decoded.lines[0].quantity, decoded.lines[0].amount.scaleb(2)) == (quantity, cents)
