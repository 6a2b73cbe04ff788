"""`tierflow demo`: the whole product on one machine, start to finish.

Broker (embedded, or the configured cluster) -> topics -> a simulated year of POS and CRM
traffic (also written to data/demo/stream.jsonl) -> a worker and the sink as child processes
-> the daily review -> wait until both have caught up -> the store compared with `tierflow
replay` of the same file -> KPIs, three members' feeds and the HTML report -> stop what the
demo started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from streams.settings import Settings

INPUT_TOPICS = ("receipts", "member_events", "review_ticks")


class DemoError(Exception):
    """A step of the demo failed; the message says which and where its log is."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    members: int = 5_000
    receipts: int = 200_000
    seed: int = 1
    days: int = 365
    malformed_share: float = 0.002
    report: Path = Path("data/report.html")
    keep_running: bool = False
    catch_up_timeout: float = 900.0


@dataclass(slots=True)
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 15) -> str:
        self.log_file.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log_file.close()


@dataclass(slots=True)
class Demo:
    """One run of the demo; `run()` does every step and always cleans up after itself."""

    settings: Settings
    options: DemoOptions
    console: Console = field(default_factory=Console)
    children: list[Child] = field(default_factory=list)
    started_broker: bool = False
    run_dir: Path = Path("data/demo")
    review_date: date | None = None

    @classmethod
    def for_run(cls, settings: Settings, options: DemoOptions, console: Console) -> Demo:
        """Topics, consumer groups (named after the topic prefix) and worker state of this run
        get their own names, so a second demo on the same broker never reads the first one's
        history."""
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        run_settings = settings.model_copy(
            update={
                "topic_prefix": f"{settings.topic_prefix}demo{stamp}.",
                "worker_datadir": settings.home / "demo" / stamp / "worker",
                "review_timer": False,  # the demo publishes the review itself, after the stream
            }
        )
        return cls(run_settings, options, console, run_dir=settings.duckdb.parent / "demo")

    # -- the steps ---------------------------------------------------------------------------

    def run(self) -> int:
        try:
            self.start_broker()
            self.create_topics()
            self.reset_store()
            # The year goes on the topics first, then the worker reads it (a backfill): on
            # the broker before it is read, the worker applies every input in the order the
            # replay of the same file does, so the comparison below must find no difference
            # (docs/streaming.md, "Order across topics").
            self.produce()
            self.start_children()
            self.publish_review()
            self.wait_for_catch_up()
            self.stop_sink()  # its last batch is in; the store stays readable
            self.compare_with_replay()
            self.show_results()
            if self.options.keep_running:
                self.children.append(self._spawn("sink", ["sink"]))
                self.say_what_keeps_running()
        finally:
            if not self.options.keep_running:
                self.stop_children()
                self.stop_broker()
        return 0

    def say_what_keeps_running(self) -> None:
        pids = ", ".join(f"{c.name} pid {c.process.pid}" for c in self.children)
        self.console.print(
            f"still running ({pids}; the broker: `tierflow broker stop`), with topic prefix "
            f"[bold]{self.settings.topic_prefix}[/]: set TIERFLOW_TOPIC_PREFIX to it to "
            f"produce more (`tierflow simulate --produce`), and stop them with SIGTERM"
        )

    def start_broker(self) -> None:
        from streams.broker.embedded import BrokerError, broker_status, start_broker

        if self.settings.bootstrap_servers:
            self.console.print(f"Kafka: using [bold]{self.settings.bootstrap_servers}[/]")
            return
        status = broker_status(self.settings)
        if status.running:
            self.console.print(f"Kafka: reusing the embedded broker on {self.settings.bootstrap}")
            return
        with self.console.status("starting the embedded Kafka broker (KRaft)..."):
            began = time.monotonic()
            try:
                start_broker(self.settings)
            except BrokerError as error:
                raise DemoError(str(error)) from None
        self.started_broker = True
        self.console.print(
            f"Kafka: embedded broker ready on {self.settings.bootstrap} "
            f"in {time.monotonic() - began:.1f} s"
        )

    def stop_broker(self) -> None:
        from streams.broker.embedded import stop_broker

        if self.started_broker:
            stop_broker(self.settings)
            self.started_broker = False
            self.console.print("Kafka: embedded broker stopped")

    def create_topics(self) -> None:
        from streams.broker.topics import create_topics

        topics = create_topics(self.settings)
        self.console.print(
            f"topics: {len(topics)} with prefix [bold]{self.settings.topic_prefix}[/], "
            f"{self.settings.partitions} partitions each"
        )

    def reset_store(self) -> None:
        """The demo's analytics store starts empty: it mirrors this run's topics only."""
        import shutil

        from sink.lake import data_path

        path = self.settings.duckdb
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", ".wal", ".lock"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        shutil.rmtree(data_path(path), ignore_errors=True)

    def start_children(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.children.append(self._spawn("worker", ["worker", "--loglevel", "warning"]))
        self.children.append(self._spawn("sink", ["sink"]))
        self.console.print(
            f"started the worker (pid {self.children[0].process.pid}) and the sink "
            f"(pid {self.children[1].process.pid}); logs in {self.run_dir}/"
        )

    def _spawn(self, name: str, arguments: list[str]) -> Child:
        log_path = self.run_dir / f"{name}.log"
        log_file = log_path.open("wb")
        env = os.environ | self.settings.as_env()
        process = subprocess.Popen(
            [sys.executable, "-m", "streams", *arguments],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # Ctrl-C reaches the demo, which stops children in order
        )
        return Child(name, process, log_path, log_file)

    def _check_children(self) -> None:
        for child in self.children:
            if not child.alive():
                raise DemoError(
                    f"the {child.name} exited with code {child.process.returncode}; "
                    f"the end of {child.log_path}:\n{child.tail()}"
                )

    def produce(self) -> int:
        """Simulate the POS stream and produce it; returns the messages produced."""
        from agents.rules.events import Receipt
        from streams.broker.producer import LoyaltyProducer
        from streams.program import load_program
        from streams.simulator.stream import SimulationParams, first_day, simulate

        program = load_program(self.settings.program)
        options = self.options
        params = SimulationParams(
            seed=options.seed,
            members=options.members,
            receipts=options.receipts,
            days=options.days,
            malformed_share=options.malformed_share,
        )
        params = replace(params, start=first_day(params, program.zone))
        # librdkafka's own warnings (a coordinator still loading, say) are noise here.
        producer = LoyaltyProducer(self.settings, config={"log_level": 3})
        sent = 0
        self.run_dir.mkdir(parents=True, exist_ok=True)
        history = self.history_path.open("w", encoding="utf-8")  # what the replay reads
        progress = Progress(
            "[bold]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            "{task.fields[detail]}",
            console=self.console,
        )
        receipts = 0
        with progress:
            task = progress.add_task(
                f"producing a year of POS receipts from {params.start}",
                total=options.receipts,
                detail="",
            )
            for message in simulate(params, program):
                producer.send(message)
                history.write(as_line(message) + "\n")
                sent += 1
                if isinstance(message, Receipt):
                    receipts += 1
                    if receipts % 2_000 == 0:
                        progress.update(
                            task, completed=receipts, detail=f"{sent:,} messages in all"
                        )
                        self._check_children()
            progress.update(task, completed=receipts, detail=f"{sent:,} messages in all")
            producer.flush(timeout=120.0)
        history.close()
        producer.close()  # its librdkafka threads go now, not when the broker is gone
        self.console.print(
            f"produced {sent:,} messages: {receipts:,} receipts, the rest member events "
            f"and malformed messages (share {options.malformed_share:.1%})"
        )
        return sent

    @property
    def history_path(self) -> Path:
        return self.run_dir / "stream.jsonl"

    def publish_review(self) -> None:
        """Today's daily review, at a known point of the log (after the whole history)."""
        from streams.broker.producer import publish_review_ticks
        from streams.program import load_program

        self.review_date = datetime.now(load_program(self.settings.program).zone).date()
        sent = publish_review_ticks(self.settings, self.review_date)
        self.console.print(f"daily review: {sent} ticks for {self.review_date} published")

    def compare_with_replay(self) -> None:
        """The same stream replayed offline (`tierflow replay` of the file the demo produced,
        reviews up to the same day) must leave the same store, column for column."""
        from streams.offline.compare import compare_stores, comparison_table
        from streams.offline.replay import replay_file, write_store
        from streams.program import load_program

        replayed = self.run_dir / "replay.duckdb"
        replayed.unlink(missing_ok=True)
        with self.console.status("replaying the same stream offline..."):
            replay = replay_file(
                self.history_path,
                load_program(self.settings.program),
                as_of=self.review_date,
                partitions=self.settings.partitions,
            )
            write_store(replay, replayed)
            result = compare_stores(self.settings.duckdb, replayed)
        self.console.print(comparison_table(result, self.history_path, replayed))
        if not result.equal:
            self.console.print(f"[red]live and replay differ[/]: {result.summary()}")

    def wait_for_catch_up(self) -> None:
        """Until the worker has consumed every input and the sink every topic (lag 0)."""
        from sink.consumer import SINK_TOPICS, consumer_config
        from streams.app import faust_app_id

        worker_group = faust_app_id(self.settings)
        sink_group = consumer_config(self.settings)["group.id"]
        deadline = time.monotonic() + self.options.catch_up_timeout
        settled_since: float | None = None
        with Live(console=self.console, refresh_per_second=4, transient=False) as live:
            while True:
                self._check_children()
                worker_lag = group_lag(self.settings, worker_group, INPUT_TOPICS)
                sink_lag = group_lag(self.settings, sink_group, SINK_TOPICS)
                ledger = topic_size(self.settings, "ledger")
                live.update(_lag_table(worker_lag, sink_lag, ledger))
                now = time.monotonic()
                if worker_lag == 0 and sink_lag == 0 and ledger > 0:
                    settled_since = settled_since or now
                    if now - settled_since >= 3.0:  # outputs of the last batch have landed
                        break
                else:
                    settled_since = None
                if now > deadline:
                    raise DemoError(
                        f"not caught up after {self.options.catch_up_timeout:.0f} s "
                        f"(worker lag {worker_lag}, sink lag {sink_lag}); "
                        f"see {self.run_dir}/worker.log and sink.log"
                    )
                time.sleep(0.5)
        self.console.print("caught up: worker lag 0, sink lag 0")

    def stop_sink(self) -> None:
        for child in [c for c in self.children if c.name == "sink"]:
            child.stop()
            self.children.remove(child)

    def stop_children(self) -> None:
        # The sink first: it finishes its batch and releases the DuckDB file.
        self.stop_sink()
        for child in self.children:
            child.stop()
        self.children.clear()

    def show_results(self) -> None:
        show_results(self.settings.duckdb, self.options.report, self.console)


def show_results(path: Path, report: Path, console: Console) -> None:
    """KPIs, the tier distribution, three members' explained feeds, and the report."""
    from sink.lake import open_for_reading
    from sink.reading import query
    from sink.report import write_report
    from streams.cli.sink import kpis, member

    console.rule("KPIs")
    kpis(month=None, months=4, duckdb=path)
    con, _ = open_for_reading(path)
    with con:
        tiers = query(con, "tier_counts")
        examples = list(dict.fromkeys(row["member_id"] for row in query(con, "example_members")))
        counts = query(con, "store_counts")
        written = write_report(con, str(path), report)
    table = Table(title="members by tier")
    table.add_column("tier")
    table.add_column("members", justify="right")
    for row in tiers:
        table.add_row(row["tier"], f"{row['members']:,}")
    console.print(table)
    console.print("store: " + ", ".join(f"{row['count']:,} {row['name']}" for row in counts))
    for member_id in examples:
        console.rule(f"member {member_id}: why did they earn what they earned?")
        member(member_id, limit=8, duckdb=path)
    console.rule("report")
    console.print(f"report: [bold]{written.resolve()}[/] (open it in a browser; works offline)")
    console.print(f"analytics store: {path} (tierflow kpis / tierflow member ID / duckdb)")


def group_lag(settings: Settings, group: str, names: tuple[str, ...]) -> int | None:
    """Messages a consumer group has not committed yet, over the given contract topics;
    None while the broker cannot say (its group coordinator is still loading, say)."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    consumer = Consumer(
        settings.kafka_client_config() | {"group.id": group, "enable.auto.commit": False}
    )
    try:
        metadata = consumer.list_topics(timeout=10)
        partitions = [
            TopicPartition(settings.topic(name), number)
            for name in names
            if settings.topic(name) in metadata.topics
            for number in metadata.topics[settings.topic(name)].partitions
        ]
        lag = 0
        for partition in consumer.committed(partitions, timeout=10):
            low, high = consumer.get_watermark_offsets(partition, timeout=10)
            position = partition.offset if partition.offset >= 0 else low
            lag += max(high - position, 0)
        return lag
    except KafkaException:
        return None
    finally:
        consumer.close()


def topic_size(settings: Settings, name: str) -> int:
    """Messages in a topic (high minus low watermark, over its partitions)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(settings.kafka_client_config() | {"group.id": "tierflow-demo-probe"})
    try:
        topic = settings.topic(name)
        metadata = consumer.list_topics(topic, timeout=10)
        total = 0
        for number in metadata.topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, number), timeout=10)
            total += high - low
        return total
    finally:
        consumer.close()


def as_line(message: object) -> str:
    """A simulated message as its JSON Lines text (a malformed one as its broken line)."""
    from schemas.jsonl import to_json_line
    from streams.simulator.malformed import MalformedMessage, json_line

    return json_line(message) if isinstance(message, MalformedMessage) else to_json_line(message)


def _lag_table(worker_lag: int | None, sink_lag: int | None, ledger: int) -> Table:
    table = Table(title="catching up")
    table.add_column("worker lag (inputs)", justify="right")
    table.add_column("sink lag (all topics)", justify="right")
    table.add_column("ledger entries", justify="right")
    table.add_row(
        "?" if worker_lag is None else f"{worker_lag:,}",
        "?" if sink_lag is None else f"{sink_lag:,}",
        f"{ledger:,}",
    )
    return table
