"""The reliability suite's harness: the real worker and sink as subprocesses, lag barriers,
and the comparison of the sink's DuckDB store with the offline replay of the same input.

Every wait polls with a deadline and fails with the children's log tails; every child is
stopped by its own pid. The figures a test measures go to `record()`, which prints them and
appends them to `data/test-artifacts/reliability.jsonl` for docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from live_worker import WorkerProcess

from agents.rules.events import MemberEvent, Receipt
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]
TIERFLOW = Path(sys.executable).with_name("tierflow")
SQL = Path(__file__).with_name("sql")
PROGRAM = REPO / "streams" / "program.example.toml"
FIGURES = REPO / "data" / "test-artifacts" / "reliability.jsonl"
INPUT_TOPICS = ("receipts", "member_events", "review_ticks")

T = TypeVar("T")


def poll(check: Callable[[], T | None], timeout: float, what: str, every: float = 0.5) -> T:
    """`check()` until it returns something other than None/False; fail naming `what`."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except ChildExited:
            raise
        except Exception as error:  # a broker briefly away: keep polling, remember why
            result, last = None, error
        if result is not None and result is not False:
            return result
        time.sleep(every)
    raise AssertionError(f"{what}: not reached in {timeout:.0f} s (last error: {last!r})")


class ChildExited(AssertionError):
    """A worker or sink that should be running is gone."""


@dataclass
class SinkProcess:
    """`tierflow sink` as a subprocess, writing `settings.duckdb`."""

    settings: Settings
    log_path: Path
    batch_size: int = 20_000
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    stopped: bool = False  # stopped on purpose: not expected to run until started again

    def start(self) -> SinkProcess:
        self.stopped = False
        env = os.environ | self.settings.as_env()
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(TIERFLOW), "sink", "--snapshot-every", "0", "--batch-size", str(self.batch_size)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        self.starts += 1
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        self.stopped = True
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(10)

    def tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Pipeline:
    """One run's settings, its workers and its sink, and the barriers between phases."""

    settings: Settings
    folder: Path
    workers: list[WorkerProcess] = field(default_factory=list)
    sink: SinkProcess | None = None
    retired: list[WorkerProcess] = field(default_factory=list)

    @classmethod
    def create(cls, settings: Settings, folder: Path) -> Pipeline:
        folder.mkdir(parents=True, exist_ok=True)
        settings = settings.model_copy(update={"duckdb": folder / "live.duckdb"})
        return cls(settings, folder)

    def start_worker(self, ready_timeout: float = 120.0) -> WorkerProcess:
        """A new worker (own web port and data folder), once its member API answers."""
        worker = self.start_worker_process()
        worker.wait_ready(timeout=ready_timeout)
        return worker

    def start_worker_process(self) -> WorkerProcess:
        number = len(self.workers)
        worker = WorkerProcess(
            self.settings,
            free_port(),
            self.folder / f"worker{number}",
            self.folder / f"worker{number}.log",
        ).start()
        self.workers.append(worker)
        return worker

    def restart_worker(self, worker: WorkerProcess, ready_timeout: float = 120.0) -> WorkerProcess:
        """A stopped (or killed) worker started again on its own data folder and web port,
        as a supervisor restarts a process on its machine: its local store is still there."""
        again = WorkerProcess(self.settings, worker.web_port, worker.datadir, worker.log_path)
        self.workers.append(again.start())
        again.wait_ready(timeout=ready_timeout)
        return again

    def running_workers(self) -> list[WorkerProcess]:
        return [w for w in self.workers if w.process is not None and w.process.poll() is None]

    def start_sink(self, batch_size: int = 20_000) -> SinkProcess:
        if self.sink is None:
            self.sink = SinkProcess(self.settings, self.folder / "sink.log", batch_size)
        return self.sink.start()

    def stop_all(self) -> None:
        if self.sink is not None:
            self.sink.stop()
        for worker in self.workers:
            self.stop_worker(worker)

    def stop_worker(self, worker: WorkerProcess, sig: int = signal.SIGTERM) -> None:
        """Stop (or kill) one worker on purpose: it is no longer expected to run."""
        self.retired.append(worker)
        worker.stop(sig)

    def check_children(self) -> None:
        """Fail at once, with its log, if a child that should run has exited."""
        for worker in self.workers:
            if worker in self.retired or worker.process is None:
                continue
            if worker.process.poll() is not None:
                raise ChildExited(f"worker exited ({worker.process.returncode}):\n{worker.tail()}")
        sink = self.sink
        running = sink is not None and sink.process is not None and not sink.stopped
        if running and sink.process.poll() is not None:  # type: ignore[union-attr]
            raise ChildExited(f"sink exited ({sink.process.returncode}):\n{sink.tail()}")

    def worker_lag(self) -> int | None:
        from streams.app import faust_app_id
        from streams.cli.demo_job import group_lag

        return group_lag(self.settings, faust_app_id(self.settings), INPUT_TOPICS)

    def sink_lag(self) -> int | None:
        from sink.consumer import SINK_TOPICS, consumer_config
        from streams.cli.demo_job import group_lag

        group = consumer_config(self.settings)["group.id"]
        return group_lag(self.settings, group, SINK_TOPICS)

    def wait_worker_caught_up(self, timeout: float = 300.0) -> float:
        """Until the worker group has committed every input; seconds waited."""
        began = time.monotonic()

        def caught_up() -> bool:
            self.check_children()
            return self.worker_lag() == 0

        poll(caught_up, timeout, f"worker lag 0 (tails: {self.tails()})")
        return time.monotonic() - began

    def wait_sink_caught_up(self, timeout: float = 300.0, quiet: float = 2.0) -> float:
        """Until the sink has stored every message of every topic and stayed so `quiet` s."""
        began = time.monotonic()
        settled: list[float] = []

        def caught_up() -> bool:
            self.check_children()
            if self.sink_lag() != 0:
                settled.clear()
                return False
            settled.append(time.monotonic())
            return settled[-1] - settled[0] >= quiet

        poll(caught_up, timeout, f"sink lag 0 (tails: {self.tails()})")
        return time.monotonic() - began

    def tails(self) -> str:
        parts = [f"--- worker {i}:\n{w.tail(12)}" for i, w in enumerate(self.workers)]
        if self.sink is not None:
            parts.append(f"--- sink:\n{self.sink.tail(12)}")
        return "\n".join(parts)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the input ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """A simulated stream split so that its cross-topic order cannot matter: every member
    event first (consumed before any receipt), then the receipts, then one review date."""

    events: list[MemberEvent]
    receipts: list[Receipt]
    review_date: date

    @property
    def size(self) -> int:
        return len(self.events) + len(self.receipts)


def workload(members: int, receipts: int, seed: int = 8) -> Workload:
    from streams.program import load_program
    from streams.simulator.stream import SimulationParams, simulate

    program = load_program(PROGRAM)
    params = SimulationParams(
        seed=seed, members=members, receipts=receipts, days=120, start=date(2026, 5, 1)
    )
    stream = list(simulate(params, program))
    events = [m for m in stream if isinstance(m, MemberEvent)]
    sales = [m for m in stream if isinstance(m, Receipt)]
    last = max(program.local(m.occurred_at).date() for m in stream)
    return Workload(events, sales, last + timedelta(days=1))


def produce(settings: Settings, messages: Iterable[Receipt | MemberEvent]) -> int:
    from streams.broker.producer import LoyaltyProducer

    producer = LoyaltyProducer(settings, config={"log_level": 3})
    for message in messages:
        producer.send(message)
    return producer.flush(timeout=120.0).total


def produce_in_slices(
    settings: Settings, messages: list[Receipt], slices: int
) -> Iterator[tuple[int, int]]:
    """Produce in `slices` parts; yields (slice number, messages sent so far) after each,
    so a test can inject a fault between two parts while the worker is busy."""
    from streams.broker.producer import LoyaltyProducer

    producer = LoyaltyProducer(settings, config={"log_level": 3})
    size = -(-len(messages) // slices)
    for number in range(slices):
        for message in messages[number * size : (number + 1) * size]:
            producer.send(message)
        producer.flush(timeout=120.0)
        yield number, min(len(messages), (number + 1) * size)


def publish_review(settings: Settings, review_date: date) -> int:
    from streams.broker.producer import publish_review_ticks

    return publish_review_ticks(settings, review_date)


# -- the comparison -----------------------------------------------------------------------


def offline_store(load: Workload, path: Path) -> Any:
    """The replay of the same input (events, then receipts, then the review) in DuckDB."""
    from streams.offline.replay import Replay, write_store
    from streams.program import load_program

    replay = Replay(load_program(PROGRAM))
    replay.apply_inputs(load.events)  # published, and applied live, before the receipts
    replay.apply_inputs(load.receipts)
    replay.review_through(load.review_date)
    write_store(replay, path)
    return replay


def compare_stores(live: Path, offline: Path) -> Any:
    """The product's live-against-replay comparison (streams/offline/compare.py)."""
    from streams.offline.compare import compare_stores as compare

    return compare(live, offline)


def sql_text(name: str) -> str:
    """A query of tests/reliability/sql/ without its comment lines (it is then formatted)."""
    lines = (SQL / f"{name}.sql").read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("--"))


def topic_messages(settings: Settings, name: str) -> int:
    from streams.cli.demo_job import topic_size

    return topic_size(settings, name)


# -- the figures --------------------------------------------------------------------------


def record(fault: str, **figures: Any) -> None:
    """Print one fault's figures and keep them for docs/reliability.md."""
    line = {"fault": fault, "at": datetime.now(UTC).isoformat(timespec="seconds")} | figures
    print(f"\nRELIABILITY {json.dumps(line)}")
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with FIGURES.open("a") as out:
        out.write(json.dumps(line) + "\n")


def seeded_moments(seed: int, count: int, low: float, high: float) -> list[float]:
    """`count` fractions in [low, high), one at random in each of `count` equal slices with
    gaps between them: where in the stream the faults strike, never two at once."""
    rng = random.Random(seed)
    width = (high - low) / count
    return [low + width * (n + rng.uniform(0.1, 0.9)) for n in range(count)]
