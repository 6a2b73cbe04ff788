"""A sink SIGKILLed in the middle of its batches, three times, and restarted each time stores
every message once: rows per table equal the topics' message counts, every key is unique,
and the offsets kept in DuckDB equal the topics' ends."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest
from pipeline import (
    PROGRAM,
    Pipeline,
    poll,
    produce,
    record,
    seeded_moments,
    sql_text,
    topic_messages,
    workload,
)

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.slow]

RECEIPTS = 30_000
KILLS = 3
BATCH = 500  # small DuckDB transactions, so each kill lands between or inside many of them


def test_a_sink_killed_in_its_batches_stores_every_message_once(
    tierflow_settings: Any, tmp_path: Path
) -> None:
    import duckdb

    load = workload(members=750, receipts=RECEIPTS, seed=44)
    settings = tierflow_settings(program=PROGRAM, review_timer=False)
    run = Pipeline.create(settings, tmp_path)
    total = produce(run.settings, [*load.events, *load.receipts])
    recoveries = []
    try:
        sink = run.start_sink(batch_size=BATCH)
        for moment in seeded_moments(seed=4, count=KILLS, low=0.1, high=0.9):
            poll(lambda m=moment: stored(run, total) >= m * total, 300, f"sink at {moment:.0%}")
            at = stored(run, total)
            sink.stop(signal.SIGKILL)
            killed = time.monotonic()
            assignments = sink.log_path.read_text().count("event=assigned")
            run.start_sink(batch_size=BATCH)
            # Progress counts from the new sink's assignment on: a commit the killed sink
            # had in flight may still land just after the kill.
            poll(
                lambda n=assignments: sink.log_path.read_text().count("event=assigned") > n,
                120,
                "the restarted sink's assignment",
            )
            base = stored(run, total)
            poll(lambda b=base: stored(run, total) > b, 300, "sink progress after restart")
            recoveries.append(time.monotonic() - killed)
            print(f"sink killed at {at}/{total} messages stored; back in {recoveries[-1]:.1f} s")
        run.wait_sink_caught_up()
    finally:
        run.stop_all()

    expected = {
        "receipts": topic_messages(run.settings, "receipts"),
        "member_events": topic_messages(run.settings, "member_events"),
        "receipt_lines": sum(len(r.lines) for r in load.receipts),
    }
    with duckdb.connect(str(run.settings.duckdb), read_only=True) as con:
        counts = {
            table: con.execute(sql_text("row_counts").format(table=table, key=key)).fetchone()
            for table, key in (
                ("receipts", "receipt_id"),
                ("member_events", "event_id"),
                ("receipt_lines", "receipt_id || '#' || line_no"),
            )
        }
        offsets = con.execute(
            "SELECT sum(next_offset) FROM sink_offsets WHERE topic IN (?, ?)",
            [run.settings.topic("receipts"), run.settings.topic("member_events")],
        ).fetchone()[0]
    rows = {table: count[0] for table, count in counts.items()}
    duplicates = sum(count[0] - count[1] for count in counts.values())
    losses = sum(max(expected[t] - rows[t], 0) for t in expected)
    record(
        "sink SIGKILL",
        injected=KILLS,
        messages_in=total,
        accounted=rows["receipts"] + rows["member_events"],
        rows=rows,
        expected_rows=expected,
        duplicates=duplicates,
        losses=losses,
        recovery_seconds=[round(r, 1) for r in recoveries],
        sink_starts=run.sink.starts if run.sink else 0,
    )
    assert total == expected["receipts"] + expected["member_events"]
    assert rows == expected
    assert duplicates == 0
    assert offsets == total


def stored(run: Pipeline, total: int) -> int:
    """Messages the sink has stored, as far as its group's committed offsets say."""
    lag = run.sink_lag()
    return 0 if lag is None else total - lag


def test_a_sink_killed_between_its_duckdb_and_kafka_commits_shows_no_lag_after_restart(
    tierflow_settings: Any, tmp_path: Path
) -> None:
    """DuckDB's offsets are the truth; Kafka's are for monitoring. A kill between the two
    commits (simulated: Kafka's offsets set back while the sink is down) must not leave a
    lag that never clears on topics with nothing new to consume."""
    from confluent_kafka import Consumer, TopicPartition

    from sink.consumer import consumer_config

    load = workload(members=50, receipts=500, seed=45)
    settings = tierflow_settings(program=PROGRAM, review_timer=False, partitions=2)
    run = Pipeline.create(settings, tmp_path)
    total = produce(run.settings, [*load.events, *load.receipts])
    try:
        run.start_sink()
        run.wait_sink_caught_up()
        run.sink.stop()  # type: ignore[union-attr]
        group = Consumer(consumer_config(run.settings))
        behind = [
            TopicPartition(run.settings.topic(name), partition, 0)
            for name in ("receipts", "member_events")
            for partition in range(2)
        ]
        group.commit(offsets=behind, asynchronous=False)
        group.close()
        assert run.sink_lag() == total
        run.start_sink()
        seconds = run.wait_sink_caught_up(timeout=60)
    finally:
        run.stop_all()
    print(f"phantom lag of {total} cleared {seconds:.1f} s after the restart")
