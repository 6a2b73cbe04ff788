"""The bytes and JSON lines of the simulator's malformed messages: each must be dead-lettered.

Kafka gets what a broken producer would send (JSON instead of Avro, cut messages, unknown
fingerprints, records that break the contract); a JSON Lines file gets the text equivalents,
which `tierflow produce` reports by line number.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from decimal import Decimal
from io import BytesIO
from typing import TYPE_CHECKING, Any

from agents.rules.events import MemberEvent, MemberEventType, Receipt
from streams.simulate import Flaw, MalformedMessage

if TYPE_CHECKING:
    from schemas.codec import Codec

SINGLE_OBJECT_HEADER = 10  # C3 01 + 8-byte fingerprint
CONFLUENT_HEADER = 5  # 0 + 4-byte schema id
UNKNOWN_FINGERPRINT = bytes.fromhex("c301") + b"\x00\x11\x22\x33\x44\x55\x66\x77"


def _valid(record: Receipt | MemberEvent) -> Receipt | MemberEvent:
    """The well-formed record a content flaw was made from (same ids)."""
    if isinstance(record, Receipt):
        return replace(record, total=sum((line.amount for line in record.lines), Decimal(0)))
    if record.points is not None and record.points <= 0:
        return replace(record, points=-record.points)
    return record


def _unchecked_avro(record: Receipt | MemberEvent, codec: Codec) -> bytes:
    """Framed Avro for a record that breaks the contract: `Codec.encode` refuses those, and
    a broken POS system would not ask it, so the body is written straight with fastavro."""
    import fastavro

    name = "Receipt" if isinstance(record, Receipt) else "MemberEvent"
    framed = codec.encode(_valid(record))
    header = framed[: _header_length(framed)]
    schema = fastavro.parse_schema(codec.schema(name), named_schemas={})
    body = BytesIO()
    fastavro.schemaless_writer(body, schema, _avro_fields(record))
    return header + body.getvalue()


def _header_length(framed: bytes) -> int:
    return SINGLE_OBJECT_HEADER if framed[0] == 0xC3 else CONFLUENT_HEADER


def _avro_fields(record: Receipt | MemberEvent) -> dict[str, Any]:
    fields = asdict(record)
    if isinstance(record, Receipt):
        fields["kind"] = record.kind.value
    else:
        fields["type"] = record.type.value
    return fields


def malformed_bytes(message: MalformedMessage, codec: Codec) -> bytes:
    """The Kafka value of a malformed message."""
    record = message.record
    if message.flaw is Flaw.BAD_FRAMING:  # someone sent JSON to an Avro topic
        return json.dumps(_avro_fields(record), default=str, ensure_ascii=False).encode()
    if message.flaw is Flaw.TRUNCATED:
        whole = codec.encode(record)
        return whole[: max(SINGLE_OBJECT_HEADER + 1, len(whole) // 2)]
    if message.flaw is Flaw.UNKNOWN_SCHEMA:
        framed = codec.encode(record)
        return UNKNOWN_FINGERPRINT + framed[_header_length(framed) :]
    if message.flaw is Flaw.WRONG_CURRENCY:
        return codec.encode(record)  # a fine receipt, in a currency the program does not use
    return _unchecked_avro(record, codec)


def json_line(message: MalformedMessage) -> str:
    """The JSON Lines text of a malformed message (no newline)."""
    from schemas.jsonl import to_json_line

    record = message.record
    if message.flaw is Flaw.WRONG_CURRENCY:
        return to_json_line(record)
    valid = json.loads(to_json_line(_valid(record)))
    if message.flaw is Flaw.BAD_FRAMING:
        ident = valid.get("receipt_id") or valid.get("event_id")
        return f"<receipt id={ident!r}> POS export interrupted"
    if message.flaw is Flaw.TRUNCATED:
        text = json.dumps(valid, ensure_ascii=False)
        return text[: len(text) // 2]
    if message.flaw is Flaw.UNKNOWN_SCHEMA:
        valid["type"] = "coupon"
    elif message.flaw is Flaw.TOTAL_MISMATCH and isinstance(record, Receipt):
        valid["total"] = str(record.total)
    elif message.flaw is Flaw.INVALID_REDEMPTION and isinstance(record, MemberEvent):
        valid["type"] = MemberEventType.POINTS_REDEEMED.value
        valid["points"] = record.points
    return json.dumps(valid, ensure_ascii=False)
