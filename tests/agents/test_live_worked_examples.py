"""rules.md's worked examples, produced to the input topics of a running worker, give exactly
the ledger entries, tier changes and notifications the rules core gives offline."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from live_worker import TopicReader, WorkerProcess, free_port, wait_consumed

from agents.rules import apply
from agents.rules.events import (
    LineItem,
    MemberEvent,
    MemberEventType,
    Receipt,
    ReceiptKind,
)
from streams.program import load_program

pytestmark = pytest.mark.integration

PROGRAM = Path(__file__).parent / "programs" / "worked_examples.toml"
OUTPUTS = ("ledger", "tier_changes", "notifications", "dead_letters")


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def enrolled(member_id: str, day: int) -> MemberEvent:
    return MemberEvent(
        type=MemberEventType.ENROLLED,
        event_id=f"{member_id}-enrolled",
        member_id=member_id,
        occurred_at=at(day, 14),
        name="Ada Lovelace",
        email=f"{member_id.lower()}@mail.example",
        phone="+14045550100",
        consent_email=True,
        consent_sms=False,
    )


def qualifying_adjustment(member_id: str, day: int, points: int) -> MemberEvent:
    return MemberEvent(
        type=MemberEventType.POINTS_ADJUSTED,
        event_id=f"{member_id}-history-{points}",
        member_id=member_id,
        occurred_at=at(day, 15),
        points=points,
        actor="support",
        reason="history from the previous system",
        counts_toward_qualifying=True,
    )


def redeemed(member_id: str, day: int, points: int) -> MemberEvent:
    return MemberEvent(
        type=MemberEventType.POINTS_REDEEMED,
        event_id=f"{member_id}-redeem-{points}",
        member_id=member_id,
        occurred_at=at(day, 16),
        points=points,
        reward_id="gift-card-100",
    )


def sale(member_id: str, receipt_id: str, day: int, hour: int, amount: str) -> Receipt:
    value = Decimal(amount)
    return Receipt(
        receipt_id=receipt_id,
        member_id=member_id,
        store_id="S001",
        occurred_at=at(day, hour),
        currency="USD",
        kind=ReceiptKind.SALE,
        lines=(LineItem("SKU-1", "home", 1, value, value),),
        total=value,
    )


def returned(original: Receipt, receipt_id: str, day: int) -> Receipt:
    return Receipt(
        receipt_id=receipt_id,
        member_id=original.member_id,
        store_id=original.store_id,
        occurred_at=at(day, 12),
        currency="USD",
        kind=ReceiptKind.RETURN,
        lines=original.lines,
        total=original.total,
        original_receipt_id=original.receipt_id,
    )


def worked_examples() -> tuple[list[MemberEvent], list[Receipt]]:
    """Member events first (they precede every receipt of their member), then receipts."""
    big_sale = sale("M-RETURN", "R-RET-1", 3, 17, "1500.00")
    events = [
        enrolled("M-CROSS", 2),
        qualifying_adjustment("M-CROSS", 2, 24_000),
        enrolled("M-REDEEM", 2),
        qualifying_adjustment("M-REDEEM", 2, 13_000),
        redeemed("M-REDEEM", 20, 10_000),
        enrolled("M-RETURN", 2),
        qualifying_adjustment("M-RETURN", 2, 10_000),
    ]
    receipts = [
        sale("M-CROSS", "R-CROSS-1", 3, 15, "800.00"),
        sale("M-CROSS", "R-CROSS-2", 3, 16, "200.00"),
        sale("M-CROSS", "R-CROSS-3", 3, 17, "100.00"),
        big_sale,
        sale("M-RETURN", "R-RET-2", 4, 15, "6750.00"),
        returned(big_sale, "R-RET-3", 5),
    ]
    return events, receipts


def offline(events: list[Any], codec: Any) -> dict[str, list[dict[str, Any]]]:
    """The core alone, same per-member order, outputs decoded as the wire carries them."""
    program = load_program(PROGRAM)
    states: dict[str, Any] = {}
    expected: dict[str, list[dict[str, Any]]] = {name: [] for name in OUTPUTS}
    for event in events:
        state, outputs = apply(states.get(event.member_id), event, program)
        states[event.member_id] = state
        for name, items in (
            ("ledger", outputs.ledger),
            ("tier_changes", outputs.tier_changes),
            ("notifications", outputs.notifications),
        ):
            expected[name].extend(codec.decode_record(codec.encode(item))[1] for item in items)
    return expected


def by_member(records: list[dict[str, Any]], member_id: str) -> list[dict[str, Any]]:
    return [r for r in records if r["member_id"] == member_id]


def test_worked_examples_stream_to_the_expected_ledger_tier_changes_and_notifications(
    tierflow_settings: Any, tmp_path: Path
) -> None:
    from streams.broker.producer import LoyaltyProducer

    settings = tierflow_settings(program=PROGRAM)
    worker = WorkerProcess(
        settings, free_port(), tmp_path / "data", tmp_path / "worker.log"
    ).start()
    reader = TopicReader(settings, (*OUTPUTS, "members"))
    try:
        worker.wait_ready()
        events, receipts = worked_examples()
        producer = LoyaltyProducer(settings)
        for event in events:
            producer.send(event)
        producer.flush()
        wait_consumed(settings, "member_events")
        for receipt in receipts:
            producer.send(receipt)
        producer.flush()

        expected = offline([*events, *receipts], reader.codec)
        sizes = {name: len(expected[name]) for name in OUTPUTS}
        seen = reader.until(lambda got: all(len(got[n]) >= sizes[n] for n in OUTPUTS))
        reader.settle(quiet=2.0)
        exit_code = worker.stop()  # SIGTERM: a graceful stop
    finally:
        worker.stop()
        reader.close()

    for name in ("ledger", "tier_changes", "notifications"):
        assert sorted(seen[name], key=repr) == sorted(expected[name], key=repr), name
    assert seen["dead_letters"] == []
    assert exit_code == 0, worker.tail()

    crossing = [e for e in by_member(seen["ledger"], "M-CROSS") if e["kind"] == "EARN"]
    assert [(e["points"], e["qualifying_points"]) for e in crossing] == [
        (1200, 800),
        (300, 200),
        (200, 100),
    ]
    assert [e["tier"] for e in crossing] == ["Silver", "Silver", "Gold"]
    gold = [c for c in seen["tier_changes"] if c["to_tier"] == "Gold"]
    assert [(c["member_id"], c["from_tier"], c["qualifying_points"]) for c in gold] == [
        ("M-CROSS", "Silver", 25_000)
    ]
    gold_notes = [
        n for n in by_member(seen["notifications"], "M-CROSS") if "Gold" in (n["subject"] or "")
    ]
    assert [n["channel"] for n in gold_notes] == ["EMAIL"]

    redeem = [e for e in by_member(seen["ledger"], "M-REDEEM") if e["kind"] == "REDEEM"]
    assert [(e["points"], e["balance_after"], e["tier"]) for e in redeem] == [
        (-10_000, 3_000, "Silver")
    ]

    taken_back = [e for e in by_member(seen["ledger"], "M-RETURN") if e["kind"] == "RETURN"]
    assert [e["points"] for e in taken_back] == [-2_250]

    # The compacted members topic: the last snapshot of each member is its standing now.
    last = {snapshot["member_id"]: snapshot for snapshot in seen["members"]}
    assert sorted(last) == ["M-CROSS", "M-REDEEM", "M-RETURN"]
    cross = last["M-CROSS"]
    assert (cross["tier"], cross["qualifying_points"], cross["next_tier"]) == ("Gold", 25_100, None)
    assert cross["balance"] == 24_000 + 1_200 + 300 + 200
