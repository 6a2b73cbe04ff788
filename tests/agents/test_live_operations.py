"""The worker's operations endpoints on a live broker: /readyz says no until the partitions
are assigned and their tables recovered, /metrics counts exactly the inputs sent (credited,
dead-lettered by code) and the lag returns to 0, /healthz answers while the loops turn."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from live_worker import WorkerProcess, free_port, wait_consumed
from prometheus_client.parser import text_string_to_metric_families
from test_live_worked_examples import PROGRAM, enrolled, sale

pytestmark = pytest.mark.integration


def scrape(worker: WorkerProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, body = worker.get("/metrics")
    assert status == 200
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_what_was_sent_and_readiness_follows_recovery(
    tierflow_settings: Any, tmp_path: Path
) -> None:
    from streams.broker.producer import LoyaltyProducer

    settings = tierflow_settings(program=PROGRAM)
    receipts_topic = settings.topic("receipts")
    worker = WorkerProcess(settings, free_port(), tmp_path / "data", tmp_path / "worker.log")
    worker.start()
    try:
        answers = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                status, body = worker.get("/readyz")
            except OSError:  # the web server is not up yet
                time.sleep(0.2)
                continue
            answers.append(status)
            if status == 200:
                break
            time.sleep(0.2)
        assert 503 in answers and answers[-1] == 200, answers  # not ready, then ready
        assert json.loads(body)["assigned_partitions"] > 0

        good = [sale("M-OPS", f"R-OPS-{n}", 3, 10 + n, "10.00") for n in range(5)]
        producer = LoyaltyProducer(settings)
        producer.send(enrolled("M-OPS", 2))
        for receipt in good:
            producer.send(receipt)
        producer.send(replace(good[0], receipt_id="R-EUR", currency="EUR"))  # wrong_currency
        producer.send_raw(receipts_topic, "M-OPS", b"not avro")  # bad_framing
        producer.send_raw(receipts_topic, "M-OTHER", producer.codec.encode(good[1]))
        producer.flush(30)
        producer.close()
        wait_consumed(settings, "receipts")
        wait_consumed(settings, "member_events")

        def settled() -> dict[Any, float] | None:
            samples = scrape(worker)
            lags = [v for (name, _), v in samples.items() if name == "tierflow_consumer_lag"]
            done = value(
                samples,
                "tierflow_inputs_total",
                topic=receipts_topic,
                outcome="credited",
                reason="",
            )
            return samples if done == 5 and lags and not any(lags) else None

        deadline, samples = time.monotonic() + 60, None
        while samples is None and time.monotonic() < deadline:
            samples = settled()
            time.sleep(0.3)
        assert samples is not None, scrape(worker)
        dead = {
            code: value(samples, "tierflow_dead_letters_total", code=code)
            for code in ("wrong_currency", "bad_framing", "key_mismatch")
        }
        assert dead == {"wrong_currency": 1, "bad_framing": 1, "key_mismatch": 1}
        assert (
            value(
                samples,
                "tierflow_inputs_total",
                topic=settings.topic("member_events"),
                outcome="applied",
                reason="",
            )
            == 1
        )
        assert value(samples, "tierflow_end_to_end_seconds_count") == 8  # every receipt record
        assert value(samples, "tierflow_ready") == 1
        status, body = worker.get("/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
    finally:
        worker.stop()
