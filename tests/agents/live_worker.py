"""Test helpers for the live path: a worker as a subprocess, and readers of output topics.

A worker always runs as a subprocess (`tierflow worker`), stopped with SIGTERM (SIGKILL for
crash tests); waits poll with a deadline and fail with what they saw.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.settings import Settings

TIERFLOW = Path(sys.executable).with_name("tierflow")


def free_port() -> int:
    """A free TCP port for a worker's web server (tests may run side by side)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def settings_env(settings: Settings) -> dict[str, str]:
    """TIERFLOW_* variables that rebuild these settings in a child process."""
    env = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[f"TIERFLOW_{name.upper()}"] = (
            str(value).lower() if isinstance(value, bool) else str(value)
        )
    return env


@dataclass
class WorkerProcess:
    settings: Settings
    web_port: int
    datadir: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def start(self) -> WorkerProcess:
        env = os.environ | settings_env(self.settings) | self.extra_env
        env["TIERFLOW_REVIEW_TIMER"] = env.get("TIERFLOW_REVIEW_TIMER", "false")
        self.log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                str(TIERFLOW),
                "worker",
                "--web-port",
                str(self.web_port),
                "--datadir",
                str(self.datadir),
                "--loglevel",
                "info",
            ],
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Ready = the member API answers from the table (404 for an unknown member)."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"worker exited ({self.process.returncode}): {self.tail()}")
            try:
                status, _ = self.get("/members/__readiness_probe__")
                if status == 404:
                    return
                last = status
            except OSError as error:
                last = error
            time.sleep(0.3)
        raise AssertionError(f"worker not ready in {timeout}s (last: {last!r}): {self.tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(10)

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class TopicReader:
    """Reads output topics from the beginning; `until` polls with a deadline."""

    def __init__(self, settings: Settings, names: Iterable[str]) -> None:
        from confluent_kafka import Consumer

        self.codec = settings.codec()
        self.topics = {settings.topic(name): name for name in names}
        self.consumer = Consumer(
            settings.kafka_client_config()
            | {
                "group.id": f"test-reader-{time.monotonic_ns()}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
        self.consumer.subscribe(list(self.topics))
        self.records: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        self.raw: dict[str, list[Any]] = {name: [] for name in names}

    def poll(self, seconds: float = 0.5) -> None:
        for message in self.consumer.consume(5000, seconds):
            if message.error():
                continue
            name = self.topics[message.topic()]
            self.raw[name].append(message)
            self.records[name].append(self.codec.decode_record(message.value())[1])

    def until(
        self, done: Callable[[dict[str, list[dict[str, Any]]]], bool], timeout: float = 60.0
    ) -> dict[str, list[dict[str, Any]]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if done(self.records):
                return self.records
        counts = {name: len(records) for name, records in self.records.items()}
        raise AssertionError(f"outputs not complete in {timeout}s; seen {counts}")

    def settle(self, quiet: float = 3.0, timeout: float = 60.0) -> None:
        """Read until nothing new arrives for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        last_total, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            self.poll()
            total = sum(len(r) for r in self.records.values())
            if total != last_total:
                last_total, last_change = total, time.monotonic()
            elif time.monotonic() - last_change >= quiet:
                return

    def close(self) -> None:
        self.consumer.close()


def wait_consumed(settings: Settings, topic_name: str, timeout: float = 60.0) -> None:
    """Wait until the worker group has committed every offset of an input topic."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient

    from streams.app import faust_app_id

    admin = AdminClient(settings.kafka_client_config())
    topic = settings.topic(topic_name)
    partitions = [TopicPartition(topic, p) for p in range(settings.partitions)]
    from confluent_kafka import Consumer

    probe = Consumer(settings.kafka_client_config() | {"group.id": "probe-highwater"})
    ends = {p.partition: probe.get_watermark_offsets(p, timeout=10)[1] for p in partitions}
    probe.close()
    deadline = time.monotonic() + timeout
    committed: dict[int, int] = {}
    while time.monotonic() < deadline:
        request = [ConsumerGroupTopicPartitions(faust_app_id(settings), partitions)]
        result = admin.list_consumer_group_offsets(request)
        for future in result.values():
            committed = {tp.partition: tp.offset for tp in future.result().topic_partitions}
        if all(committed.get(p, -1) >= end for p, end in ends.items() if end > 0):
            return
        time.sleep(0.3)
    raise AssertionError(f"{topic} not consumed in {timeout}s: ends {ends}, committed {committed}")


def skipped_repeats(log: Path) -> int:
    """Inputs a worker skipped as already applied (redelivered after a kill or a
    rebalance), from its stats lines (cumulative)."""
    counts = re.findall(r"skipped_repeats=(\d+)", log.read_text(errors="replace"))
    return max((int(count) for count in counts), default=0)


def runs_read_from_broker(logs: Iterable[Path]) -> tuple[int, int]:
    """(runs, records): offset jumps of an input partition that held records, read from the
    broker by the intake (streams/faust_adapter/intake.py, `input_jump_held_records` lines):
    records that went missing on their way to the worker."""
    runs = records = 0
    pattern = r"input_jump_held_records .* records=(\d+)"
    for log in logs:
        if log.exists():
            for found in re.findall(pattern, log.read_text()):
                runs += 1
                records += int(found)
    return runs, records
