"""Bad input never crashes a reader: each malformed case maps to its stable error code."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import fastavro
import pytest
from wire_examples import AT, a_receipt, a_redemption, an_adjustment, every_message

from agents.rules.events import LineItem
from schemas.avro_values import member_event_to_raw
from schemas.codec import Codec, CodecError, default_codec, load_schema, without_logical_types
from schemas.jsonl import parse_json_line, parse_json_record, to_json_line
from schemas.records import ReviewTickMessage

CODEC = Codec()
GOOD = CODEC.encode(a_receipt())
HEADER = GOOD[:10]


def raw_receipt(**changes: Any) -> bytes:
    """A single-object Receipt written without the codec's checks (what a buggy POS sends)."""
    record: dict[str, Any] = {
        "receipt_id": "R-1",
        "member_id": "M-1",
        "store_id": "S-1",
        "terminal_id": None,
        "occurred_at": int(AT.timestamp() * 1000),
        "currency": "USD",
        "kind": "SALE",
        "original_receipt_id": None,
        "lines": [
            {
                "sku": "A",
                "category": "home",
                "quantity": 2,
                "unit_price": b"\x01",
                "amount": b"\x02",
            }
        ],
        "total": b"\x02",
    }
    record.update(changes)
    schema = fastavro.parse_schema(without_logical_types(load_schema("Receipt")))
    body = io.BytesIO()
    fastavro.schemaless_writer(body, schema, record)
    return HEADER + body.getvalue()


def line(quantity: int = 1, cents: int = 100) -> dict[str, Any]:
    amount = cents.to_bytes(8, "big", signed=True)
    return {
        "sku": "A",
        "category": "home",
        "quantity": quantity,
        "unit_price": amount,
        "amount": amount,
    }


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def receipt_json(**changes: Any) -> str:
    text = to_json_line(a_receipt())
    record = json.loads(text)
    record.update(changes)
    return json.dumps(record)


Decode = Callable[[], object]
CASES: list[tuple[str, Decode, str]] = [
    ("empty message", lambda: CODEC.decode_receipt(b""), "bad_framing"),
    ("wrong magic", lambda: CODEC.decode_receipt(b"\xc3\x02" + GOOD[2:]), "bad_framing"),
    ("JSON sent as Avro", lambda: CODEC.decode_receipt(b'{"receipt_id": "R-1"}'), "bad_framing"),
    ("header cut short", lambda: CODEC.decode_receipt(GOOD[:7]), "bad_framing"),
    (
        "unknown fingerprint",
        lambda: CODEC.decode_receipt(b"\xc3\x01" + b"\x42" * 8 + GOOD[10:]),
        "unknown_schema",
    ),
    (
        "Confluent framing, no registry",
        lambda: CODEC.decode_receipt(b"\x00\x00\x00\x00\x07" + GOOD[10:]),
        "unknown_schema",
    ),
    ("truncated body", lambda: CODEC.decode_receipt(GOOD[:-5]), "bad_avro"),
    ("trailing bytes", lambda: CODEC.decode_receipt(GOOD + b"\x00\x01"), "bad_avro"),
    (
        "string length past the end",
        lambda: CODEC.decode_receipt(HEADER + b"\xfe\xff\xff\xff\x0f" + b"R"),
        "bad_avro",
    ),
    ("enum index out of range", lambda: CODEC.decode_receipt(_bad_enum()), "bad_avro"),
    (
        "a ledger entry read as a receipt",
        lambda: CODEC.decode_receipt(CODEC.encode(every_message()[7])),
        "wrong_record_type",
    ),
    (
        "larger than 1 MiB",
        lambda: CODEC.decode_receipt(HEADER + b"\x00" * (1024 * 1024)),
        "message_too_large",
    ),
    (
        "currency not ISO 4217",
        lambda: CODEC.decode_receipt(raw_receipt(currency="XYZ")),
        "invalid_receipt",
    ),
    ("total mismatch", lambda: CODEC.decode_receipt(raw_receipt(total=b"\x03")), "invalid_receipt"),
    (
        "negative quantity",
        lambda: CODEC.decode_receipt(raw_receipt(lines=[line(quantity=-1)], total=b"\x64")),
        "invalid_receipt",
    ),
    (
        "zero quantity",
        lambda: CODEC.decode_receipt(raw_receipt(lines=[line(quantity=0)], total=b"\x64")),
        "invalid_receipt",
    ),
    (
        "10,000 lines",
        lambda: CODEC.decode_receipt(
            raw_receipt(lines=[line()] * 10_000, total=(10_000 * 100).to_bytes(4, "big"))
        ),
        "invalid_receipt",
    ),
    (
        "no lines",
        lambda: CODEC.decode_receipt(raw_receipt(lines=[], total=b"\x00")),
        "invalid_receipt",
    ),
    (
        "huge receipt id (200,000 characters)",
        lambda: CODEC.decode_receipt(raw_receipt(receipt_id="R" * 200_000)),
        "invalid_receipt",
    ),
    (
        "decimal beyond precision 12 (a 20-byte number)",
        lambda: CODEC.decode_receipt(raw_receipt(total=b"\x7f" + b"\xff" * 19)),
        "invalid_receipt",
    ),
    (
        "negative amount",
        lambda: CODEC.decode_receipt(raw_receipt(lines=[line(cents=-100)], total=b"\xff\x9c")),
        "invalid_receipt",
    ),
    (
        "missing member id",
        lambda: CODEC.decode_receipt(raw_receipt(member_id="")),
        "invalid_receipt",
    ),
    (
        "blank store id",
        lambda: CODEC.decode_receipt(raw_receipt(store_id="   ")),
        "invalid_receipt",
    ),
    (
        "empty receipt id",
        lambda: CODEC.decode_receipt(raw_receipt(receipt_id="")),
        "invalid_receipt",
    ),
    (
        "RETURN without original",
        lambda: CODEC.decode_receipt(raw_receipt(kind="RETURN")),
        "invalid_receipt",
    ),
    (
        "SALE naming an original",
        lambda: CODEC.decode_receipt(raw_receipt(original_receipt_id="R-0")),
        "invalid_receipt",
    ),
    (
        "timestamp in 1970",
        lambda: CODEC.decode_receipt(
            raw_receipt(occurred_at=millis(datetime(1970, 1, 2, tzinfo=UTC)))
        ),
        "invalid_receipt",
    ),
    (
        "timestamp in 2200",
        lambda: CODEC.decode_receipt(
            raw_receipt(occurred_at=millis(datetime(2200, 1, 1, tzinfo=UTC)))
        ),
        "invalid_receipt",
    ),
    (
        "timestamp beyond datetime",
        lambda: CODEC.decode_receipt(raw_receipt(occurred_at=2**62)),
        "invalid_receipt",
    ),
    (
        "NaN total, encoded",
        lambda: CODEC.encode(a_receipt(total=Decimal("NaN"))),
        "invalid_receipt",
    ),
    (
        "three decimal places, encoded",
        lambda: CODEC.encode(_one_line(Decimal("1.234"))),
        "invalid_receipt",
    ),
    ("NaN total in JSON", lambda: parse_json_line(receipt_json(total="NaN")), "invalid_receipt"),
    (
        "Infinity total in JSON",
        lambda: parse_json_line(receipt_json(total="-Infinity")),
        "invalid_receipt",
    ),
    ("float money in a dict", lambda: _float_money(), "invalid_receipt"),
    (
        "missing member id in JSON",
        lambda: parse_json_line(_without("member_id")),
        "invalid_receipt",
    ),
    (
        "offset-less time in JSON",
        lambda: parse_json_line(receipt_json(occurred_at="2025-01-01T10:00:00")),
        "invalid_receipt",
    ),
    ("not JSON", lambda: parse_json_line("{receipt_id: R-1"), "bad_json"),
    ("unknown JSON type", lambda: parse_json_line('{"type": "refund"}'), "unknown_type"),
    (
        "adjustment without a reason",
        lambda: CODEC.encode(replace(an_adjustment(), reason=None)),
        "invalid_member_event",
    ),
    (
        "redemption of negative points",
        lambda: CODEC.decode_member_event(_raw_event(a_redemption(), points=-5)),
        "invalid_member_event",
    ),
    (
        "a receipt read as a member event",
        lambda: CODEC.decode_member_event(GOOD),
        "wrong_record_type",
    ),
    (
        "review tick for 1900",
        lambda: CODEC.decode_review_tick(_raw_tick(review_date=-25567)),
        "invalid_review_tick",
    ),
]


def _bad_enum() -> bytes:
    good = raw_receipt()
    # kind follows 3 ids, a null terminal, the time and the currency; find the SALE index 0
    # by re-encoding with RETURN (index 1) and compare.
    other = raw_receipt(kind="RETURN")
    position = next(i for i, (a, b) in enumerate(zip(good, other, strict=True)) if a != b)
    return good[:position] + b"\x0a" + good[position + 1 :]  # index 5 of a 2-symbol enum


def _one_line(amount: Decimal) -> Any:
    item = LineItem("A", "home", 1, amount, amount)
    return a_receipt(lines=(item,), total=amount)


def _float_money() -> object:
    record = json.loads(to_json_line(a_receipt()))
    record["total"] = 32.5
    return parse_json_record(record)


def _without(key: str) -> str:
    record = json.loads(to_json_line(a_receipt()))
    del record[key]
    return json.dumps(record)


def _raw_event(event: Any, **changes: Any) -> bytes:
    record = member_event_to_raw(event) | changes
    schema = fastavro.parse_schema(without_logical_types(load_schema("MemberEvent")))
    body = io.BytesIO()
    fastavro.schemaless_writer(body, schema, record)
    return CODEC.encode(a_redemption())[:10] + body.getvalue()


def _raw_tick(**changes: Any) -> bytes:
    record = {"review_date": 20000, "partition": 0, "published_at": millis(AT)} | changes
    schema = fastavro.parse_schema(without_logical_types(load_schema("ReviewTick")))
    body = io.BytesIO()
    fastavro.schemaless_writer(body, schema, record)
    return CODEC.encode(ReviewTickMessage(date(2025, 1, 1), 0, AT))[:10] + body.getvalue()


@pytest.mark.parametrize(("case", "decode", "code"), CASES, ids=[case for case, _, _ in CASES])
def test_malformed_input_maps_to_its_error_code(case: str, decode: Decode, code: str) -> None:
    with pytest.raises(CodecError) as raised:
        decode()
    assert raised.value.code == code, raised.value
    assert raised.value.message  # a person can act on it


def test_the_table_covers_at_least_fifteen_cases() -> None:
    assert len(CASES) >= 15


def test_an_invalid_receipt_names_the_field_at_fault() -> None:
    with pytest.raises(CodecError) as raised:
        CODEC.decode_receipt(raw_receipt(lines=[line(), line(quantity=0)], total=b"\xc8"))
    assert raised.value.field == "lines[1].quantity"
    assert "lines[1].quantity" in str(raised.value)


def test_the_default_codec_is_shared() -> None:
    assert default_codec() is default_codec()
