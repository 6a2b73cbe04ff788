"""A worker SIGKILLed at three seeded moments of a stream and restarted each time leaves the
sink's DuckDB ledger equal to the offline replay of the same input: same entry ids, points,
tiers and tier changes, nothing duplicated, nothing missing. Twice it restarts on its own
data folder (its RocksDB member table survived the kill), once on an empty one (a new
machine, the table recovered from its changelog)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from live_worker import runs_read_from_broker, skipped_repeats
from pipeline import (
    PROGRAM,
    Pipeline,
    compare_stores,
    offline_store,
    poll,
    produce,
    publish_review,
    record,
    seeded_moments,
    topic_messages,
    workload,
)

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.slow]

# Sized from the worker's measured rate on the 2-core VM (docs/reliability.md says why).
RECEIPTS = int(os.environ.get("TIERFLOW_RELIABILITY_RECEIPTS", "47000"))
MEMBERS = max(50, RECEIPTS // 40)
KILLS = 3


def test_a_worker_killed_three_times_leaves_the_offline_ledger(
    tierflow_settings: Any, tmp_path: Path
) -> None:
    load = workload(members=MEMBERS, receipts=RECEIPTS, seed=81)
    # A long commit interval leaves many applied-but-uncommitted inputs at each kill.
    settings = tierflow_settings(program=PROGRAM, commit_interval=2.0, review_timer=False)
    run = Pipeline.create(settings, tmp_path)
    try:
        run.start_worker()
        run.start_sink()
        produce(run.settings, load.events)
        run.wait_worker_caught_up()
        began = time.monotonic()
        total = load.size
        recoveries = []
        # The receipts go in KILLS + 1 slices, and each kill lands at a seeded point of the
        # slice just produced: the worker always has a backlog when it dies, however fast.
        slices = KILLS + 1
        size = -(-len(load.receipts) // slices)
        moments = seeded_moments(seed=8, count=KILLS, low=0.0, high=float(KILLS))
        for number in range(slices):
            part = load.receipts[number * size : (number + 1) * size]
            before = consumed(run)
            produce(run.settings, part)
            if number == KILLS:
                break
            target = before + (moments[number] - number) * len(part)
            poll(lambda t=target: consumed(run) >= t, 300, f"worker at {target:.0f} inputs")
            at = consumed(run)
            victim = run.running_workers()[0]
            run.stop_worker(victim, signal.SIGKILL)
            killed = time.monotonic()
            if number == 1:
                run.start_worker()  # a new machine: empty data folder
            else:
                run.restart_worker(victim)  # the same machine: the local store survived
            # Counted from the new worker's readiness: a commit the killed one had in flight
            # may still land just after the kill.
            base = consumed(run)
            poll(lambda b=base: consumed(run) > b or run.worker_lag() == 0, 300, "progress again")
            recoveries.append(time.monotonic() - killed)
            print(f"killed at {at}/{total} inputs consumed; recovered in {recoveries[-1]:.1f} s")
        run.wait_worker_caught_up()
        streamed = time.monotonic() - began
        ticks = publish_review(run.settings, load.review_date)
        run.wait_worker_caught_up()
        run.wait_sink_caught_up()
    finally:
        run.stop_all()

    replay = offline_store(load, tmp_path / "offline.duckdb")
    result = compare_stores(run.settings.duckdb, tmp_path / "offline.duckdb")
    ledger_messages = topic_messages(run.settings, "ledger")
    record(
        "worker SIGKILL",
        injected=KILLS,
        messages_in=total + ticks,
        receipts=len(load.receipts),
        member_events=len(load.events),
        ledger_entries=result.compared["ledger"],
        offline_ledger_entries=replay.counts()["ledger"],
        ledger_messages=ledger_messages,
        repeated_outputs_absorbed=ledger_messages - result.compared["ledger"],
        redelivered_inputs_skipped=sum(skipped_repeats(w.log_path) for w in run.workers),
        lost_on_the_way_read_from_broker=runs_read_from_broker(w.log_path for w in run.workers),
        missing=sum(result.missing.values()),
        extra=sum(result.extra.values()),
        duplicates=sum(result.duplicates.values()),
        recovery_seconds=[round(r, 1) for r in recoveries],
        stream_seconds=round(streamed, 1),
        rate_per_s=round(len(load.receipts) / streamed),
    )
    assert result.equal, result.summary()
    assert result.compared["ledger"] == replay.counts()["ledger"]


def consumed(run: Pipeline) -> int:
    """Inputs the worker group has committed (all input topics)."""
    lag = run.worker_lag()
    if lag is None:
        return 0
    return topic_total(run) - lag


def topic_total(run: Pipeline) -> int:
    return sum(topic_messages(run.settings, name) for name in ("receipts", "member_events"))
