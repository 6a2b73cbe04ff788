"""The (private, embedded) broker stopped and started again in the middle of a stream: the
worker and the sink reconnect by themselves, and the sink's DuckDB ledger still equals the
offline replay of the same input."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pipeline import (
    PROGRAM,
    Pipeline,
    compare_stores,
    offline_store,
    poll,
    produce,
    publish_review,
    record,
    topic_messages,
    workload,
)

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.slow]

RECEIPTS = 16_000
DOWN_FOR = 5.0  # seconds the broker stays down: clients see refused connections meanwhile


def test_a_broker_restart_mid_stream_loses_and_repeats_nothing(
    embedded_settings: Any, tmp_path: Path
) -> None:
    from streams.broker.embedded import start_broker, stop_broker
    from streams.broker.topics import create_topics

    load = workload(members=400, receipts=RECEIPTS, seed=22)
    broker = embedded_settings(broker_heap="512m")
    first_start = start_broker(broker)
    # The clients name the private broker explicitly, whatever the environment says.
    settings = broker.model_copy(
        update={
            "bootstrap_servers": broker.bootstrap,
            "topic_prefix": "restart.",
            "program": PROGRAM,
            "review_timer": False,
            "partitions": 4,
        }
    )
    create_topics(settings)
    run = Pipeline.create(settings, tmp_path)
    half = len(load.receipts) // 2
    try:
        run.start_worker()
        run.start_sink()
        produce(run.settings, load.events)
        run.wait_worker_caught_up()
        produce(run.settings, load.receipts[:half])
        total = len(load.events) + half
        poll(lambda: consumed(run, total) >= 0.4 * total, 300, "worker at 40% of the stream")
        at = consumed(run, total)
        stopped = time.monotonic()
        stop_broker(broker)
        stop_seconds = time.monotonic() - stopped
        time.sleep(DOWN_FOR)  # the outage itself is the fault, not a wait for a result
        restarted = start_broker(broker)
        up = time.monotonic()
        # The rest of the stream goes in at once: a fast worker may have applied all of the
        # first half before the broker stopped, and progress needs input to show.
        produce(run.settings, load.receipts[half:])
        total = load.size
        poll(lambda: consumed(run, total) > at, 300, "worker progress after the restart")
        worker_back = time.monotonic() - up
        run.check_children()
        run.wait_worker_caught_up()
        ticks = publish_review(run.settings, load.review_date)
        run.wait_worker_caught_up()
        run.wait_sink_caught_up()
    finally:
        run.stop_all()
    ledger_messages = topic_messages(run.settings, "ledger")
    stop_broker(broker)

    replay = offline_store(load, tmp_path / "offline.duckdb")
    result = compare_stores(run.settings.duckdb, tmp_path / "offline.duckdb")
    record(
        "broker stop + start",
        injected=1,
        messages_in=load.size + ticks,
        ledger_entries=result.compared["ledger"],
        offline_ledger_entries=replay.counts()["ledger"],
        ledger_messages=ledger_messages,
        repeated_outputs_absorbed=ledger_messages - result.compared["ledger"],
        missing=sum(result.missing.values()),
        extra=sum(result.extra.values()),
        duplicates=sum(result.duplicates.values()),
        consumed_at_stop=at,
        broker_first_start_seconds=round(first_start.seconds, 1),
        broker_stop_seconds=round(stop_seconds, 1),
        broker_down_seconds=DOWN_FOR,
        broker_restart_seconds=round(restarted.seconds, 1),
        worker_progress_after_restart_seconds=round(worker_back, 1),
        recovery_seconds=round(stop_seconds + DOWN_FOR + restarted.seconds + worker_back, 1),
    )
    assert result.equal, result.summary()
    assert result.compared["ledger"] == replay.counts()["ledger"]


def consumed(run: Pipeline, total: int) -> int:
    lag = run.worker_lag()
    return 0 if lag is None else total - lag
