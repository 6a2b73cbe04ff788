"""A mixed simulated stream (20,000 receipts and the member events of 500 members) streamed
through a worker gives the same ledger, entry id by entry id, as the rules core applied
offline to the same events in the same per-member order.

Receipts and member events travel on two topics, so their relative order is arrival order.
The test fixes it: every member event is produced and consumed before any receipt, and the
offline run applies each member's events before its receipts.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from live_worker import TopicReader, WorkerProcess, free_port, wait_consumed

from agents.rules import apply
from agents.rules.events import MemberEvent, Receipt
from streams.program import load_program

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROGRAM = Path("streams/program.example.toml")


def simulated(members: int, receipts: int) -> tuple[list[MemberEvent], list[Receipt]]:
    from streams.simulator.stream import SimulationParams, simulate

    program = load_program(PROGRAM)
    stream = list(simulate(SimulationParams(seed=11, members=members, receipts=receipts), program))
    events = [m for m in stream if isinstance(m, MemberEvent)]
    sales = [m for m in stream if isinstance(m, Receipt)]
    return events, sales


def offline_outputs(inputs: list[MemberEvent | Receipt], codec: Any) -> dict[str, dict[str, Any]]:
    program = load_program(PROGRAM)
    states: dict[str, Any] = {}
    ledger: dict[str, Any] = {}
    tier_changes: dict[str, Any] = {}
    for event in inputs:
        state, outputs = apply(states.get(event.member_id), event, program)
        states[event.member_id] = state
        for entry in outputs.ledger:
            ledger[entry.entry_id] = codec.decode_record(codec.encode(entry))[1]
        for change in outputs.tier_changes:
            tier_changes[change.event_id] = codec.decode_record(codec.encode(change))[1]
    return {"ledger": ledger, "tier_changes": tier_changes}


def by_id(records: list[dict[str, Any]], id_field: str) -> dict[str, Any]:
    """Outputs keyed by their stable id; a repeat (at-least-once) must be identical."""
    kept: dict[str, Any] = {}
    for record in records:
        first = kept.setdefault(record[id_field], record)
        assert first == record, f"{id_field} {record[id_field]} repeated with other content"
    return kept


def test_a_streamed_mixed_stream_gives_the_offline_ledger(
    tierflow_settings: Any, tmp_path: Path
) -> None:
    from streams.broker.producer import LoyaltyProducer

    events, receipts = simulated(members=500, receipts=20_000)
    settings = tierflow_settings(program=PROGRAM)
    worker = WorkerProcess(
        settings, free_port(), tmp_path / "data", tmp_path / "worker.log"
    ).start()
    reader = TopicReader(settings, ("ledger", "tier_changes"))
    expected = offline_outputs([*events, *receipts], reader.codec)
    try:
        worker.wait_ready()
        producer = LoyaltyProducer(settings)
        for event in events:
            producer.send(event)
        producer.flush()
        wait_consumed(settings, "member_events", timeout=120)
        started = time.monotonic()
        for receipt in receipts:
            producer.send(receipt)
        producer.flush()
        reader.until(
            lambda got: len(by_id(got["ledger"], "entry_id")) >= len(expected["ledger"]),
            timeout=300,
        )
        seconds = time.monotonic() - started
        reader.settle(quiet=2.0)
    finally:
        worker.stop()
        reader.close()

    ledger = by_id(reader.records["ledger"], "entry_id")
    tier_changes = by_id(reader.records["tier_changes"], "event_id")
    print(f"{len(receipts)} receipts -> {len(ledger)} ledger entries in {seconds:.1f}s")
    assert len(events) > 500 and len(receipts) == 20_000
    assert set(ledger) == set(expected["ledger"])
    assert ledger == expected["ledger"]
    assert tier_changes == expected["tier_changes"]
