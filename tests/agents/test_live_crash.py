"""A worker killed with SIGKILL in the middle of a stream, then restarted, still gives the
offline core's ledger: no entry lost, none changed; a repeated entry (at-least-once) carries
the same id and content, and inputs already applied to a member's state are skipped."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
from live_worker import (
    TopicReader,
    WorkerProcess,
    free_port,
    runs_read_from_broker,
    skipped_repeats,
    wait_consumed,
)
from test_live_mixed_stream import PROGRAM, by_id, offline_outputs, simulated

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_killed_worker_restarts_without_losing_or_changing_ledger_entries(
    tierflow_settings: Any, tmp_path: Path
) -> None:
    from streams.broker.producer import LoyaltyProducer

    events, receipts = simulated(members=200, receipts=6_000)
    # A long commit interval leaves many applied-but-uncommitted inputs at the kill.
    settings = tierflow_settings(program=PROGRAM, commit_interval=5.0, batch_size=200)
    log = tmp_path / "worker.log"
    first = WorkerProcess(settings, free_port(), tmp_path / "one", log).start()
    reader = TopicReader(settings, ("ledger", "tier_changes"))
    expected = offline_outputs([*events, *receipts], reader.codec)
    try:
        first.wait_ready()
        producer = LoyaltyProducer(settings)
        for event in events:
            producer.send(event)
        producer.flush()
        wait_consumed(settings, "member_events", timeout=120)
        for receipt in receipts:
            producer.send(receipt)
        producer.flush()
        reader.until(lambda got: len(got["ledger"]) >= len(expected["ledger"]) // 3, timeout=180)
        first.stop(signal.SIGKILL)
        killed_at = len(reader.records["ledger"])

        second = WorkerProcess(settings, free_port(), tmp_path / "two", log).start()
        try:
            second.wait_ready(timeout=120)
            reader.until(
                lambda got: len(by_id(got["ledger"], "entry_id")) >= len(expected["ledger"]),
                timeout=300,
            )
            reader.settle(quiet=3.0)
        finally:
            second.stop()
    finally:
        first.stop()
        reader.close()

    ledger = by_id(reader.records["ledger"], "entry_id")
    repeats = len(reader.records["ledger"]) - len(ledger)
    print(
        f"killed after {killed_at} ledger entries; {repeats} repeated entries after restart; "
        f"{skipped_repeats(log)} inputs skipped as already applied; "
        f"runs read from the broker (runs, records): {runs_read_from_broker([log])}"
    )
    assert killed_at < len(expected["ledger"])
    changes = by_id(reader.records["tier_changes"], "event_id")
    want = expected["ledger"]
    differing = {k for k in ledger.keys() | want.keys() if ledger.get(k) != want.get(k)}
    assert not differing, f"{len(differing)} ledger entries differ, e.g. {sorted(differing)[:3]}"
    assert changes == expected["tier_changes"]
