"""The platform as a user meets it: `tierflow broker start|status|stop` and `topics create`
as separate processes. The broker outlives the command that started it, is ready within the
30 s goal, is reused by a second start, and `stop` leaves no JVM."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TIERFLOW = str(Path(sys.executable).parent / "tierflow")


def _tierflow(settings: Any, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {
        name: value for name, value in os.environ.items() if not name.startswith("TIERFLOW_")
    } | {
        "TIERFLOW_HOME": str(settings.home),
        "TIERFLOW_KAFKA_JARS": str(settings.kafka_jars),
        "TIERFLOW_BROKER_PORT": str(settings.broker_port),
        "TIERFLOW_CONTROLLER_PORT": str(settings.controller_port),
        "TIERFLOW_TOPIC_PREFIX": "platform.",
    }
    return subprocess.run(
        [TIERFLOW, *arguments], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_broker_commands_start_reuse_report_and_stop_a_detached_broker(
    embedded_settings: Any,
) -> None:
    from streams.broker.embedded import broker_jvms

    settings = embedded_settings()
    began = time.monotonic()
    started = _tierflow(settings, "broker", "start")
    took = time.monotonic() - began
    assert started.returncode == 0, started.stderr
    assert "broker started: Kafka 4." in started.stdout
    assert took < 30, f"`tierflow broker start` took {took:.1f} s"
    pids = broker_jvms(settings)
    assert len(pids) == 1, "the broker did not outlive the command that started it"

    status = _tierflow(settings, "broker", "status")
    assert status.returncode == 0
    assert f"pid {pids[0]}" in status.stdout and "answering" in status.stdout

    again = _tierflow(settings, "broker", "start")
    assert again.returncode == 0
    assert f"already running (pid {pids[0]})" in again.stdout
    assert broker_jvms(settings) == pids

    topics = _tierflow(settings, "topics", "create")
    assert topics.returncode == 0, topics.stderr
    assert "created platform.pos.receipts (8 partitions)" in topics.stdout

    stopped = _tierflow(settings, "broker", "stop")
    assert stopped.stdout.strip() == f"broker stopped (pid {pids[0]})"
    assert broker_jvms(settings) == []
    after = _tierflow(settings, "broker", "status")
    assert after.returncode == 1
    assert after.stdout.startswith("not running")
