"""A small program history whose KPIs are computed by hand in docs/kpis.md's worked example.

Program timezone America/New_York; tiers Member 0, Silver 100, Gold 500. Four members:
A (enrolled Jan 5), B (Jan 20), C (Feb 10), D (Feb 15, anonymized Mar 10).
"""

from __future__ import annotations

from typing import Any

from sink_records import (
    dead_letter,
    ledger,
    member_event,
    receipt,
    snapshot,
    tier_change,
)

TIMEZONE = "America/New_York"
TIERS = [("Member", 0, 1), ("Silver", 100, 1.5), ("Gold", 500, 2)]


def _sourced(record: tuple[str, dict[str, Any]], partition: int, offset: int) -> Any:
    name, fields = record
    return name, fields, ("pos.receipts", partition, offset)


def history() -> list[tuple[str, dict[str, Any], tuple[Any, Any, Any]]]:
    """(record name, record, source) in arrival order."""
    none = (None, None, None)
    plain = [
        snapshot(
            "A",
            "2024-01-05T15:00",
            tier="Silver",
            qualifying_points=300,
            points_at_risk_30d=250,
            next_tier="Gold",
            points_to_next_tier=200,
        ),
        snapshot("B", "2024-01-20T15:00"),
        snapshot(
            "C",
            "2024-02-10T15:00",
            tier="Silver",
            qualifying_points=150,
            next_tier="Gold",
            points_to_next_tier=350,
        ),
        snapshot("D", "2024-02-15T15:00", name="Dee Example", email="dee.unique.7c1@example.org"),
        # Ledger: January
        ledger(
            "l1", "A", "2024-01-06T15:00", "EARN", 100, receipt_id="r1", description="Member (x1)"
        ),
        ledger(
            "l2",
            "A",
            "2024-01-20T15:00",
            "EARN",
            50,
            receipt_id="r2",
            description="Member (x1); excluded: gift_card",
        ),
        ledger(
            "l3",
            "A",
            "2024-01-20T15:00",
            "CAMPAIGN_BONUS",
            50,
            receipt_id="r2",
            campaign_id="c-double",
            description="Double points week",
        ),
        ledger("l4", "B", "2024-02-01T03:00", "EARN", 30, receipt_id="r3"),
        # February
        ledger("l5", "A", "2024-02-03T15:00", "EARN", 80, receipt_id="r4"),
        ledger("l6", "A", "2024-02-03T15:00", "TIER_BONUS", 100, tier="Silver"),
        ledger("l7", "C", "2024-02-12T15:00", "EARN", 40, receipt_id="r5"),
        ledger("l8", "C", "2024-02-20T15:00", "EARN", 60, receipt_id="r6"),
        ledger("l9", "A", "2024-02-10T15:00", "RETURN", -20, receipt_id="r7"),
        ledger("l10", "A", "2024-02-15T15:00", "REDEEM", -200, event_id="e-redeem"),
        ledger(
            "l11",
            "B",
            "2024-02-16T15:00",
            "ADJUST",
            25,
            event_id="e-adjust",
            actor="agent-7",
            reason="goodwill",
        ),
        # March
        ledger("l12", "B", "2024-03-02T15:00", "EARN", 90, receipt_id="r8"),
        ledger("l13", "C", "2024-03-05T15:00", "EARN", 10, receipt_id="r9"),
        ledger("l14", "B", "2024-03-31T15:00", "EXPIRE", -5),
        ledger(
            "l15",
            "C",
            "2024-03-06T15:00",
            "ADJUST",
            -10,
            event_id="e-adjust2",
            actor="agent-9",
            reason="duplicate credit",
        ),
        tier_change("t1", "A", "2024-02-03T15:00", "Member", "Silver"),
        tier_change("t2", "C", "2024-02-20T15:00", "Member", "Silver"),
        member_event(
            "e-redeem", "A", "2024-02-15T15:00", "points_redeemed", points=200, reward_id="mug"
        ),
        member_event(
            "e-adjust",
            "B",
            "2024-02-16T15:00",
            "points_adjusted",
            points=25,
            actor="agent-7",
            reason="goodwill",
        ),
        member_event(
            "e-enrol-d",
            "D",
            "2024-02-15T15:00",
            "enrolled",
            name="Dee Example",
            email="dee.unique.7c1@example.org",
        ),
        member_event("e-anon-d", "D", "2024-03-10T15:00", "anonymized", actor="privacy-desk"),
    ]
    receipts = [
        receipt("r1", "A", "2024-01-06T15:00", "100.00", store_id="s1"),
        receipt(
            "r2",
            "A",
            "2024-01-20T15:00",
            "50.00",
            store_id="s2",
            categories=("grocery", "gift_card"),
        ),
        # 03:00 UTC on Feb 1 is still Jan 31 in New York: a January sale.
        receipt("r3", "B", "2024-02-01T03:00", "30.00", store_id="s1"),
        receipt("r4", "A", "2024-02-03T15:00", "80.00", store_id="s1"),
        receipt("r5", "C", "2024-02-12T15:00", "40.00", store_id="s2"),
        receipt("r6", "C", "2024-02-20T15:00", "60.00", store_id="s2"),
        receipt(
            "r7",
            "A",
            "2024-02-10T15:00",
            "20.00",
            store_id="s1",
            kind="RETURN",
            original_receipt_id="r1",
        ),
        receipt("r8", "B", "2024-03-02T15:00", "90.00", store_id="s1"),
        receipt("r9", "C", "2024-03-05T15:00", "10.00", store_id="s2"),
        # Refused by the worker (dead letter at the same position): not a sale.
        receipt("rX", "D", "2024-03-07T15:00", "1000.00", store_id="s3"),
    ]
    out: list[tuple[str, dict[str, Any], tuple[Any, Any, Any]]] = [
        _sourced(record, 0, offset) for offset, record in enumerate(receipts)
    ]
    out += [(name, fields, none) for name, fields in plain]
    out.append((*dead_letter("pos.receipts", 0, 9, "D", b"rX-bytes", "2024-03-07T15:00"), none))
    return out
