"""The embedded broker with a SASL_PLAINTEXT (SCRAM-SHA-256) listener: the worker, the sink
and the producer do their work with the right credentials, are refused quickly and clearly
with wrong ones, and no log of any of them (nor the broker's) holds the password."""

from __future__ import annotations

import gc
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from pipeline import (
    PROGRAM,
    TIERFLOW,
    Pipeline,
    compare_stores,
    offline_store,
    poll,
    produce,
    record,
    workload,
)

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.slow]

SECRET = "Tf-s3cret-9Qx!pass"  # a test password, asserted never to be logged
WRONG = "Tf-wrong-4Kz!pass"
REFUSED_WITHIN = 60.0  # seconds: a refused client must give up and say why by then


def test_clients_work_with_the_right_sasl_credentials_and_are_refused_with_wrong_ones(
    embedded_settings: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from pydantic import SecretStr

    from streams.broker.embedded import start_broker, stop_broker
    from streams.broker.topics import create_topics

    broker = embedded_settings(
        broker_heap="512m",
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username="tierflow-svc",
        sasl_password=SecretStr(SECRET),
    )
    started = start_broker(broker)
    settings = broker.model_copy(
        update={
            "bootstrap_servers": broker.bootstrap,
            "topic_prefix": "secure.",
            "program": PROGRAM,
            "review_timer": False,
            "partitions": 2,
        }
    )
    wrong = settings.model_copy(update={"sasl_password": SecretStr(WRONG)})
    load = workload(members=30, receipts=600, seed=7)
    right = Pipeline.create(settings, tmp_path / "right")
    refused = Pipeline.create(wrong, tmp_path / "wrong")
    seconds: dict[str, float] = {}
    try:
        create_topics(settings)
        right.start_worker()
        right.start_sink()
        produce(settings, load.events)
        right.wait_worker_caught_up()
        produce(settings, load.receipts)
        right.wait_worker_caught_up()
        right.wait_sink_caught_up()
        right.stop_all()

        began = time.monotonic()
        producer_error = refused_producer_error(wrong, load.receipts[0])
        seconds["producer"] = time.monotonic() - began
        began = time.monotonic()
        produced = produce_command(wrong, load.receipts[:5], tmp_path / "wrong")
        seconds["tierflow produce"] = time.monotonic() - began
        assert produced.returncode == 2

        began = time.monotonic()
        sink = refused.start_sink()
        poll(lambda: not sink.alive(), REFUSED_WITHIN, "the sink giving up on wrong credentials")
        seconds["sink"] = time.monotonic() - began
        assert sink.process is not None and sink.process.returncode == 2

        began = time.monotonic()
        worker = refused.start_worker_process()
        poll(lambda: worker.process.poll() is not None, REFUSED_WITHIN, "the worker giving up")
        seconds["worker"] = time.monotonic() - began
        assert worker.process.returncode == 2  # a usage error: the settings are wrong
    finally:
        right.stop_all()
        refused.stop_all()
        stop_broker(broker)

    sink_log = (tmp_path / "wrong" / "sink.log").read_text()
    worker_log = (tmp_path / "wrong" / "worker0.log").read_text()
    assert "authentication_failed" in sink_log and "SASL authentication error" in sink_log
    # The worker checks its changelog topic before it joins the group, and stops there.
    assert "authentication_failed" in worker_log and "TIERFLOW_SASL" in worker_log
    assert producer_error.startswith("authentication_failed: ")
    assert "invalid credentials" in producer_error
    assert "[authentication_failed]" in produced.stderr
    assert "TIERFLOW_SASL_PASSWORD" in produced.stderr

    captured = capfd.readouterr()
    logs = {
        "pytest stdout": captured.out,
        "pytest stderr": captured.err,
        "broker server.log": started.server_log.read_text(errors="replace"),
        **{
            str(path.relative_to(tmp_path)): path.read_text(errors="replace")
            for path in tmp_path.glob("*/*.log")
        },
    }
    leaks = [name for name, text in logs.items() if SECRET in text or WRONG in text]
    replay = offline_store(load, tmp_path / "offline.duckdb")
    result = compare_stores(right.settings.duckdb, tmp_path / "offline.duckdb")
    record(
        "SASL credentials",
        injected=len(seconds),
        messages_in=load.size,
        ledger_entries=result.compared["ledger"],
        offline_ledger_entries=replay.counts()["ledger"],
        duplicates=sum(result.duplicates.values()),
        losses=sum(result.missing.values()),
        refused_after_seconds={name: round(s, 1) for name, s in seconds.items()},
        logs_searched=len(logs),
        log_bytes_searched=sum(len(text) for text in logs.values()),
        secret_found_in=leaks,
    )
    assert result.equal, result.summary()
    assert not leaks, f"a password appears in {leaks}"
    assert all(s < REFUSED_WITHIN for s in seconds.values())


def produce_command(settings: Any, receipts: list[Any], folder: Path) -> Any:
    """`tierflow produce FILE`, as an operator runs it, with these settings' credentials."""
    from schemas.jsonl import to_json_line

    folder.mkdir(parents=True, exist_ok=True)
    lines = folder / "receipts.jsonl"
    lines.write_text("".join(to_json_line(receipt) + "\n" for receipt in receipts))
    done = subprocess.run(
        [str(TIERFLOW), "produce", str(lines)],
        env=os.environ | settings.as_env(),
        capture_output=True,
        text=True,
        timeout=REFUSED_WITHIN + 30,
    )
    (folder / "produce.log").write_text(done.stdout + done.stderr)
    return done


def refused_producer_error(settings: Any, receipt: Any) -> str:
    """The error `LoyaltyProducer.flush` raises with these settings ('' if none)."""
    from streams.broker.producer import LoyaltyProducer, ProduceError

    producer = LoyaltyProducer(settings, config={"log_level": 3})
    producer.send(receipt)
    text = ""
    try:
        producer.flush(timeout=REFUSED_WITHIN)
    except ProduceError as error:
        text = str(error)
    # A refused producer retries in its own threads for as long as it lives: end it now.
    del producer
    gc.collect()
    return text
