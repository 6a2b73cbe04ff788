"""Operations on a live pipeline: a worker and the sink on the broker, receipts and a few
malformed messages sent. The sink's /readyz says no until its partitions are assigned, its
/metrics rows move by exactly what reached its topics and its lag returns to 0, its logs are
JSON lines when asked; `tierflow status --json` reports both services ready, lag 0 and the dead
letters by code. (The worker's own counters: tests/agents/test_live_operations.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from live_worker import TIERFLOW, WorkerProcess, free_port, settings_env, wait_consumed
from ops_files import dashboard, exprs, metric_names
from prometheus_client.parser import text_string_to_metric_families
from test_live_worked_examples import PROGRAM, enrolled, sale

pytestmark = pytest.mark.integration

T = TypeVar("T")
APPEND_ONLY = ("receipts", "receipt_lines", "member_events", "ledger", "tier_changes")
APPEND_ONLY += ("notifications", "dead_letters")


def poll(check: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline, seen = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        seen = check()
        if seen is not None and seen is not False:
            return seen
        time.sleep(0.3)
    raise AssertionError(f"{what}: not reached in {timeout:.0f} s")


class SinkProcess:
    """`tierflow sink --port P` as a subprocess, logging JSON lines."""

    def __init__(self, settings: Any, port: int, log_path: Path) -> None:
        self.port, self.log_path = port, log_path
        env = os.environ | settings_env(settings) | {"TIERFLOW_LOG_FORMAT": "json"}
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(TIERFLOW), "sink", "--port", str(port), "--snapshot-every", "0"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )

    def get(self, path: str) -> tuple[int, bytes]:
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def table_rows(found: dict[Any, float]) -> dict[str, float]:
    return {
        dict(labels)["table"]: value
        for (name, labels), value in found.items()
        if name == "tierflow_sink_rows_total"
    }


def readiness_answers(sink: SinkProcess, timeout: float = 90) -> list[dict[str, Any]]:
    """Every /readyz answer from the first one the sink gives until it says ready."""
    answers: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert sink.process.poll() is None, sink.log_path.read_text()[-3000:]
        try:
            status, body = sink.get("/readyz")
        except OSError:  # not listening yet
            time.sleep(0.05)
            continue
        answers.append(json.loads(body) | {"status": status})
        if status == 200:
            return answers
        time.sleep(0.05)
    raise AssertionError(f"sink not ready in {timeout} s: {answers[-3:]}")


def test_sink_metrics_follow_what_was_sent_and_status_reports_the_whole(
    tierflow_settings: Any, tmp_path: Path
) -> None:
    from streams.broker.producer import LoyaltyProducer
    from streams.cli.demo_job import topic_size

    settings = tierflow_settings(program=PROGRAM, duckdb=tmp_path / "live.ducklake")
    sink = SinkProcess(settings, free_port(), tmp_path / "sink.log")
    worker = WorkerProcess(settings, free_port(), tmp_path / "worker", tmp_path / "worker.log")
    try:
        answers = readiness_answers(sink)
        assert answers[0]["status"] == 503 and answers[0]["assigned_partitions"] == 0
        assert "no partitions assigned (or a rebalance under way)" in answers[0]["reasons"]
        assert answers[-1]["assigned_partitions"] == 7 * settings.partitions  # SINK_TOPICS
        worker.start()
        worker.wait_ready()
        before = table_rows(samples(sink.get("/metrics")[1]))

        receipts_topic = settings.topic("receipts")
        good = [sale("M-OPS", f"R-OPS-{n}", 3, 10 + n, "10.00") for n in range(5)]
        producer = LoyaltyProducer(settings)
        producer.send(enrolled("M-OPS", 2))
        for receipt in good:
            producer.send(receipt)
        producer.send(replace(good[0], receipt_id="R-EUR", currency="EUR"))  # wrong_currency
        producer.send_raw(receipts_topic, "M-OPS", b"not avro")  # bad_framing, twice
        wrong_key = replace(good[1], receipt_id="R-KEY")
        producer.send_raw(receipts_topic, "M-OTHER", producer.codec.encode(wrong_key))
        producer.flush(30)
        producer.close()
        wait_consumed(settings, "receipts")
        wait_consumed(settings, "member_events")

        # The worker's outputs reached their topics before its input commit: final now.
        topics = {name: topic_size(settings, name) for name in ("ledger", "tier_changes")}
        topics |= {name: topic_size(settings, name) for name in ("notifications", "members")}
        expected = {
            "receipts": 7,  # five sales, the EUR one, the one under another key
            "receipt_lines": 7,
            "member_events": 1,
            "ledger": topics["ledger"],
            "tier_changes": topics["tier_changes"],
            "notifications": topics["notifications"],
            "members": topics["members"],
            # the worker's three; the sink's own for the bytes it cannot decode is the same
            # failure (same position, same code): one row
            "dead_letters": topic_size(settings, "dead_letters"),
        }
        last: dict[str, float] = {}

        def caught_up() -> dict[Any, float] | None:
            # The sink's lag is against the end offsets its last fetches saw: 0 can come
            # before a fetch has seen the outputs, so the rows are waited for too.
            found = samples(sink.get("/metrics")[1])
            lags = [v for (name, _), v in found.items() if name == "tierflow_sink_lag"]
            last.update({t: v - before[t] for t, v in table_rows(found).items()})
            done = len(lags) == 7 * settings.partitions and not any(lags)
            return found if done and last == expected else None

        try:
            found = poll(caught_up, 90, "sink lag 0 and every message stored")
        except AssertionError as missing:
            raise AssertionError(f"{missing}: stored {last}, sent {expected}") from None
        moved = dict(last)
        assert topics["ledger"] >= 5
        assert found[("tierflow_sink_undecodable_total", ())] == 1
        assert found[("tierflow_sink_data_age_seconds", ())] == 0
        assert found[("tierflow_sink_ready", ())] == 1
        assert found[("tierflow_sink_commit_seconds_count", ())] >= 1
        assert found[("tierflow_sink_last_commit_timestamp_seconds", ())] > time.time() - 120
        assert _stored(settings.duckdb) == {t: moved[t] for t in APPEND_ONLY}

        report = poll(lambda: _status(settings, worker, sink), 60, "status: healthy, lag 0")
        assert [(s["service"], s["ready"], s["lag"]) for s in report["services"]] == [
            ("worker", True, 0),
            ("sink", True, 0),
        ]
        assert {g["service"]: g["lag"] for g in report["groups"]} == {"worker": 0, "sink": 0}
        assert report["dead_letters"]["by_code"] == {
            "wrong_currency": 1,
            "bad_framing": 1,
            "key_mismatch": 1,
        }
        status, body = sink.get("/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"

        # The dashboard reads only what the two services really export.
        exported = {name for name, _ in samples(worker.get("/metrics")[1])} | {"up"}
        exported |= {name for name, _ in samples(sink.get("/metrics")[1])}
        unknown = {
            (title, name)
            for title, expr in exprs(dashboard())
            for name in metric_names(expr)
            if name not in exported
        }
        assert unknown == set()
    finally:
        worker.stop()
        sink.stop()
    lines = sink.log_path.read_text().splitlines()
    logged = [json.loads(line) for line in lines]  # every line one JSON object
    assert {"ts", "level", "logger", "pid", "message"} <= set(logged[0])
    assigned = [line for line in logged if line["message"].startswith("event=assigned")]
    assert assigned and assigned[0]["event"] == "assigned"
    assert set(assigned[0]["fields"]) == {"partitions"}


def _stored(path: Path) -> dict[str, int]:
    from sink.lake import open_for_reading

    con, _ = open_for_reading(path)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in APPEND_ONLY}
    finally:
        con.close()


def _status(settings: Any, worker: WorkerProcess, sink: SinkProcess) -> dict[str, Any] | None:
    """`tierflow status --json` once; the document when it says healthy with no lag."""
    sink_url = f"http://127.0.0.1:{sink.port}"
    run = subprocess.run(
        [str(TIERFLOW), "status", "--json", "--worker", worker.url, "--sink", sink_url],
        env=os.environ | settings_env(settings),
        capture_output=True,
        timeout=120,
    )
    report = json.loads(run.stdout)
    assert run.returncode == (0 if report["healthy"] else 1), run.stderr
    lags = [g.get("lag") for g in report["groups"]] + [s.get("lag") for s in report["services"]]
    return report if report["healthy"] and lags == [0, 0, 0, 0] else None
