"""The one order rule, live and offline: a member's receipt and member event stamped in the
same millisecond are applied receipts first (the topics' rank), by the worker reading the
topics as by `tierflow replay` of the file, whatever the file's line order."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from live_worker import TopicReader, WorkerProcess, free_port, wait_consumed
from test_live_worked_examples import PROGRAM, at, enrolled, redeemed, sale

from agents.rules.events import MemberEvent, MemberEventType
from schemas.jsonl import write_jsonl
from streams.offline.replay import replay_file
from streams.program import load_program

pytestmark = pytest.mark.integration


def history() -> list[Any]:
    """Two members whose order matters: a redemption that only the receipt stamped in the
    same millisecond pays for (listed first in the file), and a block stamped with a receipt
    (listed after it). File order alone would refuse the first and credit the second."""
    tie = at(10, 12)
    return [
        enrolled("M-TIE-1", 2),
        replace(redeemed("M-TIE-1", 10, 100), occurred_at=tie),
        sale("M-TIE-1", "R-TIE-1", 10, 12, "100.00"),
        enrolled("M-TIE-2", 2),
        sale("M-TIE-2", "R-TIE-2", 10, 12, "50.00"),
        MemberEvent(
            type=MemberEventType.BLOCKED,
            event_id="M-TIE-2-blocked",
            member_id="M-TIE-2",
            occurred_at=tie,
            actor="support",
            reason="chargeback",
        ),
    ]


def ledger_rows(entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (e["entry_id"], e["member_id"], e["kind"], e["points"], e["balance_after"]) for e in entries
    )


def test_same_millisecond_ties_go_receipts_first_live_and_offline(
    tierflow_settings: Any, tmp_path: Path
) -> None:
    from streams.broker.producer import LoyaltyProducer

    settings = tierflow_settings(program=PROGRAM)
    file = tmp_path / "history.jsonl"
    write_jsonl(file, history())
    offline = replay_file(file, load_program(PROGRAM), partitions=settings.partitions)
    expected = ledger_rows(offline.decoded("ledger"))
    kinds = {(row[1], row[2]) for row in expected}
    assert ("M-TIE-1", "REDEEM") in kinds  # the receipt went first: the points were there
    assert ("M-TIE-2", "EARN") in kinds  # ... and was credited before the block

    # Both topics are on the broker before the worker starts, as in a backlog.
    producer = LoyaltyProducer(settings)
    for message in history():
        producer.send(message)
    producer.flush(30)
    producer.close()
    reader = TopicReader(settings, ["ledger"])
    worker = WorkerProcess(settings, free_port(), tmp_path / "data", tmp_path / "worker.log")
    worker.start()
    try:
        wait_consumed(settings, "receipts")
        wait_consumed(settings, "member_events")
        records = reader.until(lambda r: len(r["ledger"]) >= len(expected))
        reader.settle()
    finally:
        worker.stop()
        reader.close()
    assert ledger_rows(list({e["entry_id"]: e for e in records["ledger"]}.values())) == expected
