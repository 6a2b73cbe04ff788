"""Hostile input mixed into a valid stream: every bad message lands in dead letters with the
right error code (or is refused on the ledger with a reason), every valid one is credited,
and the reconciliation query (sink/queries/reconciliation.sql) accounts for every input
offset of the topics."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hostile_corpus import (
    CREDITED,
    DEAD_LETTERED,
    REFUSED,
    Message,
    bad_review_tick,
    kinds,
    member_phase,
    receipt_phase,
)
from pipeline import PROGRAM, Pipeline, record

from schemas.codec import Codec
from streams.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.slow]


def produce_exactly(
    settings: Settings, messages: list[Message]
) -> dict[tuple[str, int, int], Message]:
    """Produce the bytes as they are (no codec, no compression); where each one landed."""
    from confluent_kafka import Producer

    producer = Producer(
        settings.kafka_client_config()
        | {"partitioner": "murmur2_random", "enable.idempotence": True, "log_level": 3}
    )
    landed: dict[tuple[str, int, int], Message] = {}
    failures: list[str] = []

    def delivered(error: Any, sent: Any, message: Message) -> None:
        if error is not None:
            failures.append(f"{message.kind}: {error}")
        else:
            landed[(sent.topic(), sent.partition(), sent.offset())] = message

    for message in messages:
        producer.produce(
            settings.topic(message.topic),
            key=message.key,
            value=message.value,
            on_delivery=lambda error, sent, m=message: delivered(error, sent, m),
        )
        producer.poll(0)
    assert producer.flush(60) == 0, "messages still undelivered after 60 s"
    assert not failures, failures
    return landed


def test_every_hostile_message_is_dead_lettered_and_every_input_offset_accounted_for(
    tierflow_settings: Any, tmp_path: Path
) -> None:
    import duckdb

    from sink.reading import query

    codec = Codec()
    members, receipts, tick = member_phase(codec), receipt_phase(codec), bad_review_tick(codec)
    corpus = kinds([*members, *receipts, tick])
    settings = tierflow_settings(program=PROGRAM, review_timer=False)
    run = Pipeline.create(settings, tmp_path)
    began = time.monotonic()
    try:
        run.start_worker()
        run.start_sink()
        landed = produce_exactly(run.settings, members)
        run.wait_worker_caught_up()
        landed |= produce_exactly(run.settings, [*receipts, tick])
        run.wait_worker_caught_up()
        run.wait_sink_caught_up()
        assert run.running_workers(), "the worker died on hostile input"
    finally:
        run.stop_all()
    seconds = time.monotonic() - began

    with duckdb.connect(str(run.settings.duckdb), read_only=True) as con:
        rows = query(
            con,
            "reconciliation",
            receipts_topic=run.settings.topic("receipts"),
            member_events_topic=run.settings.topic("member_events"),
        )
        tick_letters = con.execute(
            'SELECT error_code FROM dead_letters WHERE source_topic = ? AND "offset" >= 0',
            [run.settings.topic("review_ticks")],
        ).fetchall()
    outcomes = Counter(row["outcome"] for row in rows)
    wrong = []
    for row in rows:
        expected = landed.get((row["topic"], row["partition"], row["offset"]))
        if expected is None:
            wrong.append(f"offset not produced by the test: {row}")
        elif row["outcome"] != expected.outcome:
            wrong.append(
                f"{expected.kind}: {row['outcome']} {row['error_code']}, not {expected.outcome}"
            )
        elif expected.outcome == DEAD_LETTERED and row["error_code"] != expected.error_code:
            wrong.append(f"{expected.kind}: code {row['error_code']}, not {expected.error_code}")
        elif expected.outcome == REFUSED and expected.error_code not in row["ledger_kinds"]:
            wrong.append(
                f"{expected.kind}: ledger {row['ledger_kinds']}, not {expected.error_code}"
            )
    inputs = [m for m in landed.values() if m.topic != "review_ticks"]
    record(
        "hostile input",
        injected=len(corpus),
        messages_in=len(landed),
        accounted=len(rows) - outcomes["unaccounted"] + len(tick_letters),
        outcomes=dict(outcomes),
        hostile_kinds=len(corpus),
        duplicates=0,
        losses=outcomes["unaccounted"],
        seconds=round(seconds, 1),
    )
    assert len(corpus) >= 25
    assert outcomes["unaccounted"] == 0
    assert len(rows) == len(inputs), "the reconciliation must cover every produced offset"
    assert not wrong, "\n".join(wrong)
    assert outcomes[CREDITED] == sum(m.outcome == CREDITED for m in inputs)
    assert tick_letters == [(tick.error_code,)]
