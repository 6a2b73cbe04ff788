"""Valid example messages for the wire tests; each test changes what it is about."""

from __future__ import annotations

import copy
import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import fastavro

from agents.rules.events import LineItem, MemberEvent, MemberEventType, Receipt, ReceiptKind
from agents.rules.outputs import (
    Channel,
    Direction,
    LedgerEntry,
    LedgerKind,
    Notification,
    TierChange,
)
from agents.rules.view import MemberView
from schemas.codec import load_schema
from schemas.records import DeadLetter, MemberSnapshot, ReviewTickMessage

AT = datetime(2025, 3, 14, 15, 9, 26, 535000, tzinfo=UTC)


def a_receipt(**changes: Any) -> Receipt:
    """A typical 5-line sale."""
    lines = tuple(
        LineItem(f"SKU-{index:04d}", category, 2, Decimal("3.25"), Decimal("6.50"))
        for index, category in enumerate(["groceries", "apparel", "home", "beauty", "home"])
    )
    receipt = Receipt(
        receipt_id="R-2025-000123",
        member_id="M-000042",
        store_id="S-017",
        occurred_at=AT,
        currency="USD",
        kind=ReceiptKind.SALE,
        lines=lines,
        total=Decimal("32.50"),
        terminal_id="T-3",
    )
    return replace(receipt, **changes)


def a_return(**changes: Any) -> Receipt:
    line = LineItem("SKU-0001", "apparel", 1, Decimal("3.25"), Decimal("3.25"))
    return a_receipt(
        receipt_id="R-2025-000200",
        kind=ReceiptKind.RETURN,
        original_receipt_id="R-2025-000123",
        lines=(line,),
        total=Decimal("3.25"),
        **changes,
    )


def one_line_receipt(amount: Decimal, **changes: Any) -> Receipt:
    line = LineItem("SKU-1", "home", 1, amount, amount)
    return a_receipt(lines=(line,), total=amount, **changes)


def an_enrollment(**changes: Any) -> MemberEvent:
    event = MemberEvent(
        type=MemberEventType.ENROLLED,
        event_id="E-1",
        member_id="M-000042",
        occurred_at=AT,
        name="Zoë Ångström",
        email="zoe@example.com",
        phone="+1 555 0100",
        consent_email=True,
        consent_sms=False,
    )
    return replace(event, **changes)


def an_adjustment(**changes: Any) -> MemberEvent:
    event = MemberEvent(
        type=MemberEventType.POINTS_ADJUSTED,
        event_id="E-2",
        member_id="M-000042",
        occurred_at=AT,
        points=-250,
        actor="agent-7",
        reason="goodwill reversal",
        counts_toward_qualifying=True,
    )
    return replace(event, **changes)


def a_redemption(**changes: Any) -> MemberEvent:
    event = MemberEvent(
        type=MemberEventType.POINTS_REDEEMED,
        event_id="E-3",
        member_id="M-000042",
        occurred_at=AT,
        points=1000,
        reward_id="RW-9",
    )
    return replace(event, **changes)


def every_message() -> list[object]:
    """One of each message the codec writes."""
    return [
        a_receipt(),
        a_return(),
        an_enrollment(),
        an_adjustment(),
        a_redemption(),
        MemberEvent(MemberEventType.BLOCKED, "E-4", "M-1", AT, actor="risk", reason="fraud"),
        MemberEvent(MemberEventType.ANONYMIZED, "E-5", "M-1", AT, actor="dpo"),
        LedgerEntry(
            entry_id="L-R-2025-000123-EARN",
            member_id="M-000042",
            occurred_at=AT,
            kind=LedgerKind.EARN,
            points=48,
            qualifying_points=32,
            balance_after=1048,
            tier="Silver",
            multiplier=Decimal("1.5"),
            receipt_id="R-2025-000123",
            description="Silver (x1.5); excluded: none",
        ),
        LedgerEntry(
            entry_id="L-E-3",
            member_id="M-000042",
            occurred_at=AT,
            kind=LedgerKind.REDEMPTION_REFUSED,
            points=0,
            qualifying_points=0,
            balance_after=-12,
            tier="Member",
            multiplier=Decimal(0),
            event_id="E-3",
            reason="insufficient balance",
        ),
        TierChange("T-1", "M-000042", "Silver", "Gold", Direction.UP, 25000, AT, "reached 25000"),
        Notification(
            "N-1", "M-000042", Channel.EMAIL, "tier_up", "zoe@example.com", "Hi", "Gold!", AT
        ),
        Notification("N-2", "M-000042", Channel.SMS, "tier_up", "+1 555", "", "Gold!", AT),
        DeadLetter("pos.receipts", 3, 12345, b"M-1", "bad_avro", "no", b"\x00\xff", AT),
        DeadLetter("pos.receipts", 0, -1, None, "unmatched_return", "waited", b"", AT),
        ReviewTickMessage(date(2025, 3, 14), 7, AT),
        MemberSnapshot(
            MemberView(
                member_id="M-000042",
                status="active",
                tier="Gold",
                balance=-12,
                qualifying_points=25010,
                next_tier="Platinum",
                points_to_next_tier=24990,
                points_at_risk_30d=310,
                enrolled_at=AT,
                name="Zoë Ångström",
                email="zoe@example.com",
                phone=None,
                multiplier=Decimal(2),
            ),
            AT,
        ),
    ]


class InMemoryRegistry:
    """The two calls of confluent-kafka's SchemaRegistryClient the codec makes."""

    def __init__(self) -> None:
        self.schemas: dict[int, Any] = {}
        self.subjects: dict[str, int] = {}

    def register_schema(self, subject_name: str, schema: Any) -> int:
        key = json.dumps(json.loads(schema.schema_str), sort_keys=True)
        for schema_id, known in self.schemas.items():
            if json.dumps(json.loads(known.schema_str), sort_keys=True) == key:
                self.subjects[subject_name] = schema_id
                return schema_id
        schema_id = 100 + len(self.schemas)
        self.schemas[schema_id] = schema
        self.subjects[subject_name] = schema_id
        return schema_id

    def get_schema(self, schema_id: int) -> Any:
        return self.schemas[schema_id]


# -- the next version of a schema (tests of schema evolution) --


def receipt_v2() -> dict[str, Any]:
    """Receipt with one more optional field, as the next schema version would add it."""
    schema = copy.deepcopy(load_schema("Receipt"))
    schema["fields"].append(
        {
            "name": "channel",
            "type": ["null", "string"],
            "default": None,
            "doc": "Where the sale happened (store, web, app).",
        }
    )
    return schema


def write_body(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(schema), record)
    return body.getvalue()
