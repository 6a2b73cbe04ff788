"""Hand-made decoded records (the codec's dict shapes) for the sink's tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def at(text: str) -> datetime:
    """An aware UTC datetime from 'YYYY-MM-DDTHH:MM' (UTC)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def receipt(
    receipt_id: str,
    member_id: str,
    when: str,
    total: str,
    *,
    store_id: str = "s1",
    kind: str = "SALE",
    original_receipt_id: str | None = None,
    categories: tuple[str, ...] = ("grocery",),
) -> tuple[str, dict[str, Any]]:
    amount = Decimal(total) / len(categories)
    lines = [
        {
            "sku": f"sku-{i}",
            "category": category,
            "quantity": 1,
            "unit_price": amount,
            "amount": amount,
        }
        for i, category in enumerate(categories)
    ]
    return "Receipt", {
        "receipt_id": receipt_id,
        "member_id": member_id,
        "store_id": store_id,
        "terminal_id": None,
        "occurred_at": at(when),
        "currency": "USD",
        "kind": kind,
        "original_receipt_id": original_receipt_id,
        "lines": lines,
        "total": Decimal(total),
    }


def ledger(
    entry_id: str,
    member_id: str,
    when: str,
    kind: str,
    points: int,
    **fields: Any,
) -> tuple[str, dict[str, Any]]:
    record = {
        "entry_id": entry_id,
        "member_id": member_id,
        "occurred_at": at(when),
        "kind": kind,
        "points": points,
        "qualifying_points": fields.pop("qualifying_points", 0),
        "balance_after": fields.pop("balance_after", 0),
        "tier": fields.pop("tier", "Member"),
        "multiplier": fields.pop("multiplier", Decimal(1)),
        "receipt_id": None,
        "event_id": None,
        "campaign_id": None,
        "description": "",
        "actor": None,
        "reason": None,
    }
    record.update(fields)
    return "LedgerEntry", record


def member_event(
    event_id: str, member_id: str, when: str, type_: str, **fields: Any
) -> tuple[str, dict[str, Any]]:
    record = {
        "type": type_,
        "event_id": event_id,
        "member_id": member_id,
        "occurred_at": at(when),
        "name": None,
        "email": None,
        "phone": None,
        "consent_email": None,
        "consent_sms": None,
        "points": None,
        "actor": None,
        "reason": None,
        "counts_toward_qualifying": False,
        "reward_id": None,
    }
    record.update(fields)
    return "MemberEvent", record


def snapshot(member_id: str, enrolled: str | None, **fields: Any) -> tuple[str, dict[str, Any]]:
    record = {
        "member_id": member_id,
        "status": "active",
        "tier": "Member",
        "balance": 0,
        "qualifying_points": 0,
        "next_tier": "Silver",
        "points_to_next_tier": 100,
        "points_at_risk_30d": 0,
        "multiplier": Decimal(1),
        "enrolled_at": at(enrolled) if enrolled else None,
        "updated_at": at(fields.pop("updated", enrolled or "2024-01-01T12:00")),
        "name": None,
        "email": None,
        "phone": None,
    }
    record.update(fields)
    return "MemberSnapshot", record


def tier_change(
    event_id: str, member_id: str, when: str, from_tier: str, to_tier: str, direction: str = "UP"
) -> tuple[str, dict[str, Any]]:
    return "TierChange", {
        "event_id": event_id,
        "member_id": member_id,
        "from_tier": from_tier,
        "to_tier": to_tier,
        "direction": direction,
        "qualifying_points": 100,
        "effective_at": at(when),
        "reason": "qualifying points reached 100",
    }


def notification(
    notification_id: str, member_id: str, when: str, recipient: str, body: str
) -> tuple[str, dict[str, Any]]:
    return "Notification", {
        "notification_id": notification_id,
        "member_id": member_id,
        "channel": "EMAIL",
        "template": "tier_up",
        "recipient": recipient,
        "subject": "You moved up",
        "body": body,
        "created_at": at(when),
    }


def dead_letter(
    source_topic: str, partition: int, offset: int, key: str, payload: bytes, when: str
) -> tuple[str, dict[str, Any]]:
    return "DeadLetter", {
        "source_topic": source_topic,
        "partition": partition,
        "offset": offset,
        "key": key.encode(),
        "error_code": "invalid_receipt",
        "error": "total must equal the sum of the line amounts",
        "payload": payload,
        "failed_at": at(when),
    }
