"""A worker killed with SIGKILL in the middle of a stream, then restarted, still gives the
offline core's ledger: no entry lost, none changed; a repeated entry (at-least-once) carries
the same id and content, and inputs already applied to a member's state are skipped."""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import Any

import pytest
from live_worker import (
    TopicReader,
    WorkerProcess,
    free_port,
    wait_consumed,
    xfail_if_known_skip_fault,
)
from test_live_mixed_stream import PROGRAM, by_id, offline_outputs, simulated

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def skipped_repeats(log: str) -> int:
    counts = [int(n) for n in re.findall(r"skipped_repeats=(\d+)", log)]
    return max(counts, default=0)


# Known and open (docs/reliability.md, "Found, fixed late, watched"): a restarted worker
# meets rebalances and can stop applying input held by the event-time aligner. The test
# runs in full and reports XPASS when the worker gets through.
def test_a_killed_worker_restarts_without_losing_or_changing_ledger_entries(
    tierflow_settings: Any, tmp_path: Path
) -> None:
    from streams.producer import LoyaltyProducer

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
        f"{skipped_repeats(log.read_text())} inputs skipped as already applied"
    )
    assert killed_at < len(expected["ledger"])
    changes = by_id(reader.records["tier_changes"], "event_id")
    if ledger != expected["ledger"] or changes != expected["tier_changes"]:
        differing = {
            k
            for k in ledger.keys() | expected["ledger"].keys()
            if ledger.get(k) != expected["ledger"].get(k)
        }
        xfail_if_known_skip_fault([log], f"{len(differing)} ledger entries differ")
