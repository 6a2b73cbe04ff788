"""`tierflow demo` end to end on the real broker, at a small size."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.conftest import KafkaBroker

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.integration
@pytest.mark.slow
def test_demo_runs_the_whole_product_and_leaves_nothing_running(
    kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    report = tmp_path / "report.html"
    env = os.environ | {
        "TIERFLOW_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
        "TIERFLOW_DUCKDB": str(tmp_path / "demo.duckdb"),
        "TIERFLOW_HOME": str(tmp_path / "home"),
        "TIERFLOW_WEB_PORT": str(_free_port()),
        "COLUMNS": "160",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "demo",
            "--members",
            "150",
            "--receipts",
            "4000",
            "--report",
            str(report),
            "--timeout",
            "300",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]

    assert "caught up: worker lag 0, sink lag 0" in output
    assert re.search(r"│ active members\s+│\s+\d+", output), "no KPI table"
    tiers = re.findall(r"│ (Member|Silver|Gold|Platinum)\s+│\s+([\d,]+) │", output)
    assert len(tiers) >= 2, f"members in one tier only: {tiers}"
    notifications = re.search(r"([\d,]+) notifications", output)
    assert notifications and int(notifications.group(1).replace(",", "")) > 0, output[-2000:]
    assert output.count("why did they earn what they earned?") >= 2
    assert report.exists() and report.stat().st_size > 100_000
    assert "<script" in report.read_text(encoding="utf-8")

    pids = re.search(r"started the worker \(pid (\d+)\) and the sink \(pid (\d+)\)", output)
    assert pids, output[:2000]
    for pid in map(int, pids.groups()):
        assert not _running(pid), f"pid {pid} still running after the demo"


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
