"""The simulator's malformed messages: which ones (`with_malformed`), their Kafka bytes and
their JSON lines. Each must end as a dead letter (or, in a file, a reported line).

Kafka gets what a broken producer would send (JSON instead of Avro, cut messages, unknown
fingerprints, records that break the contract); a JSON Lines file gets the text equivalents,
which `tierflow produce` reports by line number.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from io import BytesIO
from typing import TYPE_CHECKING, Any

from agents.rules.events import MemberEvent, MemberEventType, Receipt

if TYPE_CHECKING:
    from schemas.codec import Codec

SINGLE_OBJECT_HEADER = 10  # C3 01 + 8-byte fingerprint
CONFLUENT_HEADER = 5  # 0 + 4-byte schema id
UNKNOWN_FINGERPRINT = bytes.fromhex("c301") + b"\x00\x11\x22\x33\x44\x55\x66\x77"


class Flaw(StrEnum):
    """What is wrong with a malformed message; each must end as a dead letter."""

    BAD_FRAMING = "bad_framing"  # not Avro at all: a JSON document sent to an Avro topic
    TRUNCATED = "truncated"  # a message cut short
    UNKNOWN_SCHEMA = "unknown_schema"  # single-object framing with an unknown fingerprint
    TOTAL_MISMATCH = "total_mismatch"  # receipt total differs from the sum of its lines
    WRONG_CURRENCY = "wrong_currency"  # a receipt in another currency than the program's
    INVALID_REDEMPTION = "invalid_redemption"  # points_redeemed with points <= 0


RECEIPT_FLAWS: tuple[Flaw, ...] = (
    Flaw.BAD_FRAMING,
    Flaw.TRUNCATED,
    Flaw.UNKNOWN_SCHEMA,
    Flaw.TOTAL_MISMATCH,
    Flaw.WRONG_CURRENCY,
)
MEMBER_EVENT_FLAWS = (Flaw.BAD_FRAMING, Flaw.TRUNCATED, Flaw.INVALID_REDEMPTION)


@dataclass(frozen=True, slots=True)
class MalformedMessage:
    """A message that must be dead-lettered; `record` is what its bytes are made from
    (already wrong for content flaws). `topic` is the contract name: receipts, member_events."""

    topic: str
    key: str
    occurred_at: datetime
    flaw: Flaw
    record: Receipt | MemberEvent


def with_malformed(
    valid: Iterator[Receipt | MemberEvent], seed: int, share: float, currency: str
) -> Iterator[Receipt | MemberEvent | MalformedMessage]:
    # A separate generator, so the valid messages are the same with or without malformed ones.
    rng = random.Random(f"{seed}-malformed")
    chance = share / (1 - share)
    count = 0
    for message in valid:
        yield message
        if rng.random() >= chance:
            continue
        count += 1
        if isinstance(message, Receipt):
            flaw = rng.choice(RECEIPT_FLAWS)
            receipt = replace(message, receipt_id=f"r-{seed}-bad-{count}")
            if flaw is Flaw.TOTAL_MISMATCH:
                receipt = replace(receipt, total=receipt.total + Decimal("1.00"))
            elif flaw is Flaw.WRONG_CURRENCY:
                receipt = replace(receipt, currency="EUR" if currency != "EUR" else "GBP")
            yield MalformedMessage(
                "receipts", receipt.member_id, receipt.occurred_at, flaw, receipt
            )
        else:
            flaw = rng.choice(MEMBER_EVENT_FLAWS)
            event = replace(message, event_id=f"e-{seed}-bad-{count}")
            if flaw is Flaw.INVALID_REDEMPTION:
                event = MemberEvent(
                    type=MemberEventType.POINTS_REDEEMED,
                    event_id=event.event_id,
                    member_id=event.member_id,
                    occurred_at=event.occurred_at,
                    points=-rng.choice((100, 500)),
                    reward_id="RW-COFFEE",
                )
            yield MalformedMessage("member_events", event.member_id, event.occurred_at, flaw, event)


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
        del fields["fingerprint"]  # the codec's, not a field of the message
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
