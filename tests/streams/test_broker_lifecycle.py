"""The embedded broker's life: start is quick and waits until it answers, a second start
reuses the running JVM, status tells the truth, stop leaves no JVM behind (even a stuck one),
and a restart keeps the topics."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import psutil
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

START_GOAL_S = 30.0


def test_start_reuse_status_stop_restart_leaves_no_jvm(embedded_settings: Any) -> None:
    from streams.broker.embedded import broker_jvms, broker_status, start_broker, stop_broker
    from streams.broker.topics import create_topics

    settings = embedded_settings()
    broker = start_broker(settings)
    assert not broker.reused
    assert broker.seconds < START_GOAL_S, f"start took {broker.seconds:.1f} s"
    assert broker.bootstrap_servers == f"127.0.0.1:{settings.broker_port}"
    status = broker_status(settings)
    assert (status.running, status.pid) == (True, broker.pid)
    assert broker_jvms(settings) == [broker.pid]

    again = start_broker(settings)
    assert (again.reused, again.pid) == (True, broker.pid)
    assert broker_jvms(settings) == [broker.pid], "a second start launched a second JVM"

    create_topics(settings.model_copy(update={"bootstrap_servers": broker.bootstrap_servers}))
    assert stop_broker(settings) == broker.pid
    assert broker_jvms(settings) == []
    assert not psutil.pid_exists(broker.pid) or psutil.Process(broker.pid).status() == "zombie"
    stopped = broker_status(settings)
    assert (stopped.running, stopped.process_alive, stopped.answering) == (False, False, False)
    assert stop_broker(settings) is None  # stopping a stopped broker is a no-op

    restarted = start_broker(settings)
    assert restarted.seconds < START_GOAL_S
    again_topics = create_topics(
        settings.model_copy(update={"bootstrap_servers": restarted.bootstrap_servers})
    )
    assert [topic.created for topic in again_topics] == [False] * len(again_topics)
    stop_broker(settings)
    assert broker_jvms(settings) == []


def test_status_and_stop_find_a_broker_whose_pid_file_was_lost(embedded_settings: Any) -> None:
    from streams.broker.config import BrokerFiles
    from streams.broker.embedded import broker_jvms, broker_status, start_broker, stop_broker

    settings = embedded_settings()
    broker = start_broker(settings)
    BrokerFiles.of(settings).pid.unlink()
    assert broker_status(settings).pid == broker.pid
    assert start_broker(settings).reused
    assert stop_broker(settings) == broker.pid
    assert broker_jvms(settings) == []


def test_stop_kills_a_broker_that_ignores_sigterm(embedded_settings: Any) -> None:
    from streams.broker.embedded import broker_jvms, start_broker, stop_broker

    settings = embedded_settings(broker_stop_timeout=1.0)
    broker = start_broker(settings)
    os.kill(broker.pid, signal.SIGSTOP)  # a frozen JVM cannot run its shutdown hook
    began = time.monotonic()
    assert stop_broker(settings) == broker.pid
    assert time.monotonic() - began < 15
    assert broker_jvms(settings) == []


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
def test_the_embedded_broker_serves_a_sasl_user(embedded_settings: Any, mechanism: str) -> None:
    from confluent_kafka import Producer
    from pydantic import SecretStr

    from streams.broker.embedded import broker_answers, start_broker, stop_broker

    settings = embedded_settings(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,
        sasl_username="pos-gateway",
        sasl_password=SecretStr("s3cret-pass"),
    )
    start_broker(settings)
    try:
        producer = Producer(settings.kafka_client_config())
        producer.produce("sasl-check", b"hello")
        assert producer.flush(30) == 0
        wrong = settings.model_copy(update={"sasl_password": SecretStr("wrong")})
        assert not broker_answers(wrong, timeout=3.0)
        plaintext = settings.model_copy(update={"security_protocol": "PLAINTEXT"})
        assert not broker_answers(plaintext, timeout=3.0)
    finally:
        stop_broker(settings)
