"""The hostile-input corpus: 30 kinds of bad message, each with the outcome it must have, and
the valid stream they are mixed into.

Bytes are written by hand where the codec would refuse to write them (`raw_avro` takes any
field values and writes them with the schema minus its logical types), so each message is
exactly what a broken or malicious producer could put on the topic.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

from agents.rules.events import LineItem, MemberEvent, MemberEventType, Receipt, ReceiptKind
from schemas.codec import Codec, without_logical_types

CURRENCY = "USD"  # streams/program.example.toml
START = datetime(2026, 6, 1, 14, tzinfo=UTC)
VALID_MEMBERS = [f"h-{n}" for n in range(40)] + ["h-\U0001f600-\u00e9\u202e"]
BLOCKED = "h-blocked"
NEVER_ENROLLED = "h-nobody"
TOO_MUCH = Decimal("100000000000.00")  # 13 digits: beyond the contract's decimal(12, 2)

# Outcomes the reconciliation query gives an input offset (sink/queries/reconciliation.sql).
CREDITED, RECORDED, REFUSED, DEAD_LETTERED = "credited", "recorded", "refused", "dead_lettered"


@dataclass(frozen=True)
class Message:
    """One message to produce, with the outcome it must have: `outcome` and, for a dead
    letter, its `error_code`; for a refusal, the ledger `kind` that records it."""

    kind: str
    topic: str  # contract name: receipts, member_events, review_ticks
    key: bytes | None
    value: bytes | None
    outcome: str
    error_code: str | None = None
    message_id: str | None = None


def money_bytes(value: Decimal) -> bytes:
    """An Avro decimal(12, 2) body: the unscaled value, big-endian two's complement."""
    unscaled = int(value.scaleb(2))
    size = max(1, (unscaled.bit_length() + 8) // 8)
    return unscaled.to_bytes(size, "big", signed=True)


def millis(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000)


def receipt_fields(receipt: Receipt) -> dict[str, Any]:
    return {
        "receipt_id": receipt.receipt_id,
        "member_id": receipt.member_id,
        "store_id": receipt.store_id,
        "terminal_id": receipt.terminal_id,
        "occurred_at": millis(receipt.occurred_at),
        "currency": receipt.currency,
        "kind": receipt.kind.value,
        "original_receipt_id": receipt.original_receipt_id,
        "lines": [
            {
                "sku": line.sku,
                "category": line.category,
                "quantity": line.quantity,
                "unit_price": money_bytes(line.unit_price),
                "amount": money_bytes(line.amount),
            }
            for line in receipt.lines
        ],
        "total": money_bytes(receipt.total),
    }


def event_fields(event: MemberEvent) -> dict[str, Any]:
    return {
        "type": event.type.value,
        "event_id": event.event_id,
        "member_id": event.member_id,
        "occurred_at": millis(event.occurred_at),
        "name": event.name,
        "email": event.email,
        "phone": event.phone,
        "consent_email": event.consent_email,
        "consent_sms": event.consent_sms,
        "points": event.points,
        "actor": event.actor,
        "reason": event.reason,
        "counts_toward_qualifying": event.counts_toward_qualifying,
        "reward_id": event.reward_id,
    }


class Writer:
    """Framed Avro bodies written with no checks: what a broken producer could send."""

    def __init__(self, codec: Codec) -> None:
        import fastavro

        self.codec = codec
        self.fastavro = fastavro
        self.headers = {
            "Receipt": codec.encode(sale("probe", VALID_MEMBERS[0], 0))[:10],
            "MemberEvent": codec.encode(enrolled("probe", VALID_MEMBERS[0]))[:10],
        }

    def raw(self, name: str, fields: dict[str, Any]) -> bytes:
        schema = self.fastavro.parse_schema(
            without_logical_types(self.codec.schema(name)), named_schemas={}
        )
        body = BytesIO()
        self.fastavro.schemaless_writer(body, schema, fields)
        return self.headers[name] + body.getvalue()

    def receipt(self, receipt: Receipt, **overrides: Any) -> bytes:
        return self.raw("Receipt", receipt_fields(receipt) | overrides)

    def event(self, event: MemberEvent, **overrides: Any) -> bytes:
        return self.raw("MemberEvent", event_fields(event) | overrides)


def sale(receipt_id: str, member_id: str, minute: int, amount: str = "42.00") -> Receipt:
    line = LineItem("SKU-7", "grocery", 2, Decimal(amount) / 2, Decimal(amount))
    return Receipt(
        receipt_id,
        member_id,
        "store-1",
        START + timedelta(minutes=minute),
        CURRENCY,
        ReceiptKind.SALE,
        (line,),
        Decimal(amount),
    )


def enrolled(event_id: str, member_id: str) -> MemberEvent:
    return MemberEvent(
        MemberEventType.ENROLLED,
        event_id,
        member_id,
        START - timedelta(days=1),
        name="Zoë O’Brien",
        email="zoe@example.com",
    )


def member_phase(codec: Codec) -> list[Message]:
    """Enrolments, a blocked member, and the member events that must be refused."""
    write = Writer(codec)
    messages = []
    for number, member in enumerate([*VALID_MEMBERS, BLOCKED]):
        event = enrolled(f"h-enrol-{number}", member)
        messages.append(
            Message("valid enrolment", "member_events", member.encode(), codec.encode(event),
                    RECORDED, message_id=event.event_id)
        )  # fmt: skip
    block = MemberEvent(
        MemberEventType.BLOCKED, "h-block-1", BLOCKED, START - timedelta(hours=1),
        actor="fraud-desk", reason="card reported stolen",
    )  # fmt: skip
    messages.append(
        Message("valid block", "member_events", BLOCKED.encode(), codec.encode(block), RECORDED)
    )
    member = VALID_MEMBERS[1]
    redeem = MemberEvent(
        MemberEventType.POINTS_REDEEMED, "h-redeem-1", member, START - timedelta(hours=2),
        points=1_000_000, reward_id="RW-TV",
    )  # fmt: skip
    bad_points = replace(redeem, event_id="h-redeem-neg")
    no_actor = MemberEvent(
        MemberEventType.POINTS_ADJUSTED, "h-adjust-1", member, START - timedelta(hours=2),
        points=50, reason="goodwill",
    )  # fmt: skip
    unknown = replace(redeem, event_id="h-redeem-nobody", member_id=NEVER_ENROLLED, points=10)
    bad_email = replace(enrolled("h-enrol-bad-email", "h-bad-email"), email="not-an-address")
    key = member.encode()
    messages += [
        Message("redemption beyond the balance", "member_events", key, codec.encode(redeem),
                REFUSED, "REDEMPTION_REFUSED", "h-redeem-1"),
        Message("redemption of negative points", "member_events", key,
                write.event(bad_points, points=-500), DEAD_LETTERED, "invalid_member_event"),
        Message("adjustment without an actor", "member_events", key, write.event(no_actor),
                DEAD_LETTERED, "invalid_member_event"),
        Message("redemption by a member never enrolled", "member_events",
                NEVER_ENROLLED.encode(), codec.encode(unknown), DEAD_LETTERED, "unknown_member"),
        Message("e-mail without @", "member_events", b"h-bad-email", write.event(bad_email),
                DEAD_LETTERED, "invalid_member_event"),
        Message("a receipt on the member-events topic", "member_events", key,
                codec.encode(sale("h-lost", member, 1)), DEAD_LETTERED, "wrong_record_type"),
    ]  # fmt: skip
    return messages


def hostile_receipts(codec: Codec) -> list[Message]:
    """The bad messages of the receipts topic (and one review tick)."""
    write = Writer(codec)
    member = VALID_MEMBERS[2]
    key = member.encode()
    base = sale("h-base", member, 5)
    good = codec.encode(base)

    def bad(kind: str, value: bytes | None, code: str, key: bytes | None = key) -> Message:
        return Message(kind, "receipts", key, value, DEAD_LETTERED, code)

    def invalid(kind: str, receipt: Receipt, **overrides: Any) -> Message:
        return bad(kind, write.receipt(receipt, **overrides), "invalid_receipt")

    def rid(name: str) -> Receipt:
        return replace(base, receipt_id=f"h-{name}")

    line = base.lines[0]
    many = tuple(
        LineItem(f"SKU-{n:05d}-" + "x" * 110, "grocery-" + "y" * 110, 1, Decimal(1), Decimal(1))
        for n in range(3_500)
    )
    huge = replace(rid("900kb"), lines=many, total=Decimal(len(many)))
    nfc, nfd = "h-zo\u00eb", "h-zoe\u0301"
    fields_of_line = receipt_fields(base)["lines"][0]
    in_1970, in_2200 = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
    return [
        bad("tombstone (no value)", None, "empty_payload"),
        bad("empty value", b"", "bad_framing"),
        bad("JSON instead of Avro", json.dumps({"receipt_id": "h-json"}).encode(), "bad_framing"),
        bad("one byte", b"\xc3", "bad_framing"),
        bad("wrong magic", b"\xc3\x02" + good[2:], "bad_framing"),
        bad("unknown fingerprint", b"\xc3\x01" + bytes(8) + good[10:], "unknown_schema"),
        bad("Confluent framing, no registry", b"\x00\0\0\0\x07" + good[10:], "unknown_schema"),
        bad("header only", good[:10], "bad_avro"),
        bad("truncated Avro", good[: len(good) // 2], "bad_avro"),
        bad("trailing bytes", good + b"\x00\x02", "bad_avro"),
        bad("invalid UTF-8 in a string", write.raw("Receipt", receipt_fields(rid("utf8")))
            .replace(b"store-1", b"st\xff\xfe-1"), "bad_avro"),
        bad("a member event on the receipts topic", codec.encode(enrolled("h-e", member)),
            "wrong_record_type"),
        bad("a 900 KB receipt (3,500 lines)", write.receipt(huge), "invalid_receipt"),
        invalid("total does not match the lines", rid("total"), total=money_bytes(Decimal(43))),
        invalid("currency code not ISO 4217", rid("cur"), currency="usd$"),
        bad("a currency other than the program's",
            codec.encode(replace(rid("eur"), currency="EUR")), "wrong_currency"),
        invalid("negative quantity", rid("negq"), lines=[fields_of_line | {"quantity": -2}]),
        invalid("zero quantity", rid("zeroq"), lines=[fields_of_line | {"quantity": 0}]),
        invalid("negative amount", rid("nega"), total=money_bytes(Decimal(-42)),
                lines=[fields_of_line | {"amount": money_bytes(Decimal(-42))}]),
        invalid("no lines", rid("nolines"), lines=[], total=money_bytes(Decimal(0))),
        invalid("return without its original", replace(rid("ret"), kind=ReceiptKind.RETURN)),
        invalid("occurred in 1970", replace(rid("1970"), occurred_at=in_1970)),
        invalid("occurred in 2200", replace(rid("2200"), occurred_at=in_2200)),
        invalid("empty receipt id", rid("x"), receipt_id=""),
        invalid("blank receipt id", rid("x"), receipt_id="   "),
        invalid("receipt id of 129 characters", rid("x"), receipt_id="r" * 129),
        invalid("amount beyond decimal(12, 2)", rid("big"), total=money_bytes(TOO_MUCH),
                lines=[fields_of_line | {"amount": money_bytes(TOO_MUCH)}]),
        bad("key is another member", codec.encode(rid("keyother")), "key_mismatch",
            VALID_MEMBERS[3].encode()),
        bad("no key", codec.encode(rid("nokey")), "key_mismatch", None),
        bad("key in NFD, member id in NFC", codec.encode(replace(rid("nfd"), member_id=nfc)),
            "key_mismatch", nfd.encode()),
        Message("same receipt id, other content", "receipts", key,
                codec.encode(replace(base, total=Decimal("50.00"), lines=(replace(
                    line, unit_price=Decimal(25), amount=Decimal(50)),))),
                DEAD_LETTERED, "conflicting_duplicate"),
        Message("a sale of a blocked member", "receipts", BLOCKED.encode(),
                codec.encode(sale("h-blocked-sale", BLOCKED, 7)), REFUSED, "NOT_CREDITED",
                "h-blocked-sale"),
    ]  # fmt: skip


def receipt_phase(codec: Codec, valid: int = 400) -> list[Message]:
    """`valid` good receipts (the first is the original the conflicting duplicate repeats),
    with the hostile ones spread among them."""
    member = VALID_MEMBERS[2]
    first = sale("h-base", member, 5)
    goods = [first] + [
        sale(f"h-sale-{n}", VALID_MEMBERS[n % len(VALID_MEMBERS)], 10 + n) for n in range(valid - 1)
    ]
    hostile = hostile_receipts(codec)
    spacing = max(1, len(goods) // (len(hostile) + 1))
    out: list[Message] = []
    for number, receipt in enumerate(goods):
        out.append(
            Message("valid sale", "receipts", receipt.member_id.encode(), codec.encode(receipt),
                    CREDITED, message_id=receipt.receipt_id)
        )  # fmt: skip
        if number % spacing == spacing - 1 and hostile:
            out.append(hostile.pop(0))
    return out + hostile


def bad_review_tick(codec: Codec) -> Message:
    """A review tick dated 2150: outside the dates a review may have."""
    import fastavro

    from schemas.records import ReviewTickMessage

    probe = codec.encode(ReviewTickMessage(date(2026, 6, 1), 0, START))
    schema = fastavro.parse_schema(
        without_logical_types(codec.schema("ReviewTick")), named_schemas={}
    )
    body = BytesIO()
    days = (date(2150, 1, 1) - date(1970, 1, 1)).days
    fastavro.schemaless_writer(
        body, schema, {"review_date": days, "partition": 0, "published_at": millis(START)}
    )
    return Message(
        "review tick dated 2150", "review_ticks", None, probe[:10] + body.getvalue(),
        DEAD_LETTERED, "invalid_review_tick",
    )  # fmt: skip


def kinds(messages: Iterator[Message] | list[Message]) -> set[str]:
    return {m.kind for m in messages if m.outcome != CREDITED and not m.kind.startswith("valid")}
