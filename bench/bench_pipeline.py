"""The live pipeline's throughput and latency on the embedded broker, against a baseline.

In one run: (a) the rate at which a plain confluent-kafka consumer reads the receipts topic
(the baseline), (a2) the rate of a bare Faust agent that takes the same receipts in batches
and acknowledges them, doing nothing else (bench/faust_floor.py: what Faust alone allows),
(a3) the worker's batch path with no Kafka at all (decode, rules, encode, member records),
(b) the worker's sustained rate from receipts in to committed ledger entries out (one
worker, 8 partitions), with the worker's CPU microseconds per receipt, (d) the same with
/metrics scraped every second against without (the metrics' cost), and (c) the
end-to-end latency p50/p99 (receipt produced -> ledger entry readable) at a steady rate:
`--latency-rate` (2,000/s) and half of (b)'s sustained rate.

    .venv/bin/python -m bench.bench_pipeline [--members 100000] [--receipts 100000]
        [--latency-rate 2000] [--metrics-rounds 2] [--skip-latency | --skip-throughput]

Uses TIERFLOW_BOOTSTRAP_SERVERS if set, else starts (or reuses) the embedded broker.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PROGRAM = REPO / "streams" / "program.example.toml"


def settings_for(bootstrap: str, **overrides: Any) -> Any:
    from streams.broker.topics import create_topics
    from streams.settings import Settings

    settings = Settings(
        bootstrap_servers=bootstrap,
        topic_prefix=f"bench{uuid.uuid4().hex[:6]}.",
        partitions=8,
        program=PROGRAM,
        **overrides,
    )
    create_topics(settings)
    return settings


def receipts_for(members: int, receipts: int) -> list[Any]:
    """Valid sales spread over `members` members (the simulator's shapes, cycled ids)."""
    from agents.rules.events import Receipt, ReceiptKind
    from streams.program import load_program
    from streams.simulator.stream import SimulationParams, simulate

    program = load_program(PROGRAM)
    params = SimulationParams(seed=5, members=min(members, 5_000), receipts=receipts)
    sales = [
        m
        for m in simulate(params, program)
        if isinstance(m, Receipt) and m.kind == ReceiptKind.SALE
    ]
    # Re-address the simulator's sales to `members` distinct ids, round robin, so the member
    # table holds `members` entries; ids stay unique per receipt.
    out = []
    for n, sale in enumerate(sales[:receipts]):
        member_id = f"B{n % members:07d}"
        out.append(
            Receipt(
                receipt_id=f"{sale.receipt_id}-{n}",
                member_id=member_id,
                store_id=sale.store_id,
                occurred_at=sale.occurred_at,
                currency=sale.currency,
                kind=sale.kind,
                lines=sale.lines,
                total=sale.total,
                terminal_id=sale.terminal_id,
            )
        )
    return out


def produce(settings: Any, receipts: list[Any]) -> float:
    from streams.broker.producer import LoyaltyProducer

    producer = LoyaltyProducer(settings)
    started = time.perf_counter()
    for receipt in receipts:
        producer.send_receipt(receipt)
    producer.flush(120)
    producer.close()
    return time.perf_counter() - started


def baseline_read_rate(settings: Any, count: int) -> float:
    """(a) A confluent-kafka consumer reading the receipts topic from the start."""
    from confluent_kafka import Consumer

    consumer = Consumer(
        settings.kafka_client_config()
        | {"group.id": f"bench-baseline-{uuid.uuid4().hex}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([settings.topic("receipts")])
    seen, started = 0, None
    deadline = time.monotonic() + 120
    while seen < count and time.monotonic() < deadline:
        for message in consumer.consume(10_000, 1.0):
            if message.error():
                continue
            if started is None:
                started = time.perf_counter()
            seen += 1
    elapsed = time.perf_counter() - (started or time.perf_counter())
    consumer.close()
    return seen / elapsed if elapsed else 0.0


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Worker:
    def __init__(self, settings: Any, web_port: int, workdir: Path) -> None:
        sys.path.insert(0, str(REPO / "tests" / "agents"))
        from live_worker import WorkerProcess

        self.process = WorkerProcess(
            settings, web_port, workdir / f"data{web_port}", workdir / f"worker{web_port}.log"
        )

    def __enter__(self) -> Any:
        self.process.start()
        self.process.wait_ready(120)
        return self.process

    def __exit__(self, *exc: object) -> None:
        self.process.stop(signal.SIGTERM)


@functools.cache
def _admin(config: tuple[tuple[str, Any], ...]) -> Any:
    """One admin client per cluster for the whole run (a new one per poll leaves librdkafka
    log lines behind each time it is dropped)."""
    from confluent_kafka.admin import AdminClient

    return AdminClient(dict(config))


def committed_total(settings: Any, topic_name: str, group: str | None = None) -> int:
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

    from streams.app import faust_app_id

    admin = _admin(tuple(sorted(settings.kafka_client_config().items())))
    partitions = [TopicPartition(settings.topic(topic_name), p) for p in range(settings.partitions)]
    request = [ConsumerGroupTopicPartitions(group or faust_app_id(settings), partitions)]
    total = 0
    for future in admin.list_consumer_group_offsets(request).values():
        total += sum(max(tp.offset, 0) for tp in future.result().topic_partitions)
    return total


def apply_path_rate(
    receipts: list[Any], partitions: int, batch: int = 2_000, worker_collector: bool = True
) -> dict[str, float]:
    """(a3) The worker's batch path with no Kafka at all, in this process: the use case
    (decode, checks, rules, outputs and member snapshots encoded) over batches of `batch`
    receipts, and member records to bytes and back (a dict for the table), with the garbage
    collector set as the worker sets it (`streams/collector.py`; `worker_collector=False`
    keeps Python's defaults). Per core: receipts per second of this process's CPU time."""
    from contextlib import nullcontext

    from agents.usecase import (
        RECEIPTS,
        InputMessage,
        MemberBatch,
        MemberRecord,
        ReviewIndex,
        partition_of,
    )
    from schemas.codec import Codec
    from streams.collector import collecting_for_batches
    from streams.program import load_program
    from streams.settings import TOPIC_NAMES

    program, codec = load_program(PROGRAM), Codec()
    messages = []
    for offset, receipt in enumerate(receipts):
        key = receipt.member_id.encode()
        stamp = int(receipt.occurred_at.timestamp() * 1000)
        value = codec.encode(receipt)
        partition = partition_of(key, partitions)
        messages.append(InputMessage(RECEIPTS, "receipts", partition, offset, stamp, key, value))
    table: dict[str, bytes] = {}

    def load(member_id: str) -> Any:
        raw = table.get(member_id)
        return MemberRecord.from_bytes(raw) if raw is not None else None

    index = ReviewIndex()
    with collecting_for_batches() if worker_collector else nullcontext():
        started = time.process_time()
        for first in range(0, len(messages), batch):
            result = MemberBatch(program, codec, index, load, TOPIC_NAMES, partitions).apply_all(
                messages[first : first + batch]
            )
            for member_id, (_partition, record) in result.records.items():
                table[member_id] = record.to_bytes()
        cpu = time.process_time() - started
    return {"rate": len(messages) / cpu, "cpu_us_per_receipt": cpu / len(messages) * 1e6}


def apply_path_rate_at(
    checkout: Path, members: int, receipts: int, partitions: int
) -> dict[str, float]:
    """(a3) measured by a fresh interpreter in `checkout` (this tree, or a worktree of an
    earlier revision, whose own `apply_path_rate` runs): one process each, back to back."""
    import json
    import subprocess

    code = (
        "import json; from bench.bench_pipeline import receipts_for, apply_path_rate; "
        f"print(json.dumps(apply_path_rate(receipts_for({members}, {receipts}), {partitions})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=checkout,
        env=os.environ | {"PYTHONPATH": str(checkout)},
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def batch_path_against(rev: str, members: int, receipts: int, partitions: int) -> None:
    """(a3) of this tree and of revision `rev`, alternated over three rounds (the machine's
    noise hits both alike); prints each round and the ratio of the medians."""
    import subprocess

    worktree = Path(tempfile.mkdtemp(prefix="tierflow-baseline-")) / rev
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(worktree), rev],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    try:
        now, then = [], []
        for round_ in range(3):
            then.append(apply_path_rate_at(worktree, members, receipts, partitions)["rate"])
            now.append(apply_path_rate_at(REPO, members, receipts, partitions)["rate"])
            print(
                f"(a3) round {round_ + 1}: this tree {now[-1]:,.0f} receipts/s per core, "
                f"{rev} {then[-1]:,.0f}/s",
                flush=True,
            )
        ratio = statistics.median(now) / statistics.median(then)
        print(f"(a3) batch path: this tree / {rev} = {ratio:.2f} (medians of 3)", flush=True)
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO, check=False
        )


def faust_floor_rate(settings: Any, count: int, workdir: Path) -> dict[str, float]:
    """(a2) A bare Faust agent (bench/faust_floor.py) reading the same receipts with the
    worker's intake and acknowledging them, doing nothing else: what Faust alone allows."""
    import subprocess

    import psutil

    sys.path.insert(0, str(REPO / "tests" / "agents"))
    from live_worker import settings_env

    from bench.faust_floor import GROUP_SUFFIX
    from streams.app import faust_app_id

    env = (
        os.environ
        | settings_env(settings)
        | {"TIERFLOW_WEB_PORT": str(free_port()), "TIERFLOW_WORKER_DATADIR": str(workdir)}
    )
    with (workdir / "faust-floor.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.faust_floor"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            proc = psutil.Process(process.pid)
            group = faust_app_id(settings) + GROUP_SUFFIX
            # Timed from the first committed offset: the worker's start-up is not Faust's rate.
            deadline = time.monotonic() + 300
            done = 0
            while done == 0 and time.monotonic() < deadline:
                time.sleep(0.2)
                done = committed_total(settings, "receipts", group)
            first, started, cpu0 = done, time.perf_counter(), proc.cpu_times()
            while done < count and time.monotonic() < deadline:
                time.sleep(0.2)
                done = committed_total(settings, "receipts", group)
            elapsed, cpu1 = time.perf_counter() - started, proc.cpu_times()
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    counted = done - first
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return {
        "rate": counted / elapsed if elapsed else 0.0,
        "cpu_us_per_receipt": cpu / max(counted, 1) * 1e6,
    }


def pipeline_rate(
    settings: Any, count: int, workdir: Path, workers: int = 1, scrape_every: float | None = None
) -> dict[str, float]:
    """(b) Receipts already in the topic; fresh workers; until all offsets are committed.

    Offsets commit only after the batch's outputs were acknowledged and its table writes
    flushed (agents/worker/checkpoint.py), so a committed receipt's ledger entries are readable.
    With `scrape_every`, another process plays Prometheus: GET /metrics of every worker at
    that interval (the scrapes' CPU inside the worker counts in its CPU per receipt).
    """
    import contextlib
    import subprocess

    import psutil

    from bench.bench_sink import SCRAPER

    ports = [free_port() for _ in range(workers)]
    every = str(scrape_every)
    with contextlib.ExitStack() as stack:
        processes = [stack.enter_context(Worker(settings, port, workdir)) for port in ports]
        scrapers = [
            stack.enter_context(
                subprocess.Popen(
                    [sys.executable, "-c", SCRAPER, f"http://127.0.0.1:{port}/metrics", every],
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
            for port in (ports if scrape_every else [])
        ]
        procs = [psutil.Process(p.process.pid) for p in processes]
        cpu0 = [proc.cpu_times() for proc in procs]
        started = time.perf_counter()
        deadline = time.monotonic() + 900
        done = 0
        while done < count and time.monotonic() < deadline:
            time.sleep(0.5)
            done = committed_total(settings, "receipts")
        elapsed = time.perf_counter() - started
        cpu1 = [proc.cpu_times() for proc in procs]
        for scraper in scrapers:
            scraper.kill()
            assert scraper.communicate()[0].count("scraped") > 0, "/metrics was never scraped"
    cpu = sum((b.user - a.user) + (b.system - a.system) for a, b in zip(cpu0, cpu1, strict=True))
    return {
        "receipts": done,
        "seconds": elapsed,
        "rate": done / elapsed,
        "cpu_us_per_receipt": cpu / max(done, 1) * 1e6,
    }


def metrics_cost(bootstrap: str, overrides: dict[str, Any], args: Any, workdir: Path) -> None:
    """(d) The metrics' cost to the pipeline: runs with /metrics scraped every second (15 times
    Prometheus's default rate) and without, alternated in the same run, each on fresh topics
    with the same receipts: the rate (best of the rounds) and the worker's CPU per receipt
    (median). The counters behind /metrics are plain integers the worker always keeps; what
    scraping adds is the collector reading them and the text exposition."""
    receipts = receipts_for(args.members, args.receipts)
    runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for number in range(args.metrics_rounds):
        # Alternated, each side first in every other round: runs later in a bench tend to be
        # faster (a warm broker and page cache), which an unalternated order would credit.
        for scraped in (False, True) if number % 2 == 0 else (True, False):
            settings = settings_for(bootstrap, **overrides)
            produce(settings, receipts)
            runs[scraped].append(
                pipeline_rate(
                    settings, len(receipts), workdir, scrape_every=1.0 if scraped else None
                )
            )
    best = {on: max(run["rate"] for run in runs[on]) for on in runs}
    cpu = {on: statistics.median(run["cpu_us_per_receipt"] for run in runs[on]) for on in runs}
    for on in runs:
        print(
            f"  /metrics {'scraped' if on else 'not scraped'}: receipts/s "
            + ", ".join(f"{run['rate']:,.0f}" for run in runs[on])
            + "; worker CPU us/receipt "
            + ", ".join(f"{run['cpu_us_per_receipt']:,.0f}" for run in runs[on])
        )
    print(
        f"(d) metrics, {args.metrics_rounds} rounds: rate x{best[True] / best[False]:.3f} "
        f"scraped / not (best), worker CPU per receipt x{cpu[True] / cpu[False]:.3f} (median); "
        f"goal: rate >= x0.97",
        flush=True,
    )


TICK = 0.005  # seconds between the latency run's sends (and its reads of the ledger)


def latency(
    settings: Any, members: int, rate: int, seconds: float, workdir: Path, warmup: float = 3.0
) -> dict[str, float]:
    """(c) A steady `rate` of receipts; produce time -> ledger entry readable.

    The first `warmup` seconds of the run are sent but not measured (a fresh worker's first
    batches pay for imports and connection set-up).

    The load generator shares the machine with the worker (two cores here), so it does as
    little as it can while the clock runs: receipts are encoded before the run, sent every
    `TICK` seconds (all those due by then, each stamped with its own due time), and ledger
    entries are kept as raw bytes with their arrival time and decoded after the run. Its
    cyclic garbage collector is off while the clock runs: its full collections took 70-75
    ms here, and a late send counts as latency."""
    from confluent_kafka import Consumer

    from schemas.codec import Codec
    from streams.broker.producer import LoyaltyProducer

    receipts = receipts_for(members=members, receipts=int(rate * (seconds + warmup)))
    measured_from = int(rate * warmup)
    codec = Codec()
    encoded = [(r.receipt_id, r.member_id, codec.encode(r)) for r in receipts]
    due_at: dict[str, float] = {}
    arrivals: list[tuple[float, bytes]] = []
    with Worker(settings, free_port(), workdir):
        reader = Consumer(
            settings.kafka_client_config()
            | {
                "group.id": f"bench-latency-{uuid.uuid4().hex}",
                "auto.offset.reset": "latest",
                "isolation.level": "read_committed",
                "fetch.wait.max.ms": 5,
            }
        )
        reader.subscribe([settings.topic("ledger")])
        reader.consume(1, 3.0)  # join the group before the first receipt
        producer = LoyaltyProducer(settings, config={"linger.ms": 1})
        topic = settings.topic("receipts")
        gc.collect()
        gc.disable()
        started = time.perf_counter()
        sent, ticks = 0, 0
        while sent < len(encoded):
            # Wait for the next tick inside consume() (no spinning: the machine has 2 cores).
            ticks += 1
            tick = started + ticks * TICK
            while (now := time.perf_counter()) < tick:
                for message in reader.consume(1000, min(tick - now, TICK)):
                    if not message.error():
                        arrivals.append((time.perf_counter(), message.value()))
            due_now = min(len(encoded), int((time.perf_counter() - started) * rate) + 1)
            for n in range(sent, due_now):
                receipt_id, member_id, value = encoded[n]
                if n >= measured_from:
                    # The receipt's own due time: a tick's late sends count as latency.
                    due_at[receipt_id] = started + n / rate
                producer.send_raw(topic, member_id, value)
            sent = due_now
            producer._producer.poll(0)
        producer.flush(60)
        producer.close()
        gc.enable()
        # Read on until the ledger has been quiet for 3 s (or a minute has passed).
        deadline, quiet_since = time.monotonic() + 60, time.monotonic()
        while time.monotonic() < min(deadline, quiet_since + 3.0):
            for message in reader.consume(1000, 0.2):
                quiet_since = time.monotonic()
                if not message.error():
                    arrivals.append((time.perf_counter(), message.value()))
        reader.close()
    arrived = []
    for at, value in arrivals:
        due = due_at.pop(codec.decode_record(value)[1].get("receipt_id") or "", None)
        if due is not None:
            arrived.append(at - due)
    arrived.sort()
    return {
        "receipts": len(receipts) - measured_from,
        "measured": len(arrived),
        "p50_ms": statistics.median(arrived) * 1000,
        "p99_ms": arrived[int(len(arrived) * 0.99) - 1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--receipts", type=int, default=100_000)
    parser.add_argument("--latency-rate", type=int, default=2_000)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--commit-interval", type=float, default=None)
    parser.add_argument("--skip-throughput", action="store_true", help="only (c)")
    parser.add_argument("--skip-latency", action="store_true", help="only (a) and (b)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes in (b)")
    parser.add_argument(
        "--metrics-rounds", type=int, default=2, help="(d): runs with and without scrapes"
    )
    parser.add_argument(
        "--batch-path-against",
        metavar="REV",
        help="only (a3): this tree's batch path against revision REV's, back to back",
    )
    args = parser.parse_args()
    if args.batch_path_against:
        batch_path_against(args.batch_path_against, args.members, args.receipts, 8)
        return

    bootstrap = os.environ.get("TIERFLOW_BOOTSTRAP_SERVERS")
    if bootstrap:
        run(bootstrap, args)
        return
    from streams.broker.embedded import start_broker, stop_broker
    from streams.settings import Settings

    broker = start_broker(Settings())
    try:
        run(broker.bootstrap_servers, args)
    finally:
        if not broker.reused:  # stop what this run started; a running broker is left be
            stop_broker(Settings())


def run(bootstrap: str, args: Any) -> None:
    overrides = {"review_timer": False}
    if args.commit_interval is not None:
        overrides["commit_interval"] = args.commit_interval
    workdir = Path(tempfile.mkdtemp(prefix="tierflow-bench-"))

    rates = [args.latency_rate]
    if not args.skip_throughput:
        sustained = throughput(bootstrap, overrides, args, workdir)
        rates.append(int(sustained / 2))  # the goal's "half the sustained rate"
        if args.metrics_rounds:
            metrics_cost(bootstrap, overrides, args, workdir)
    for rate in rates if not args.skip_latency else []:
        steady = latency(
            settings_for(bootstrap, **overrides), args.members, rate, args.latency_seconds, workdir
        )
        print(
            f"(c) latency at {rate}/s: p50 {steady['p50_ms']:.0f} ms, "
            f"p99 {steady['p99_ms']:.0f} ms ({steady['measured']}/{steady['receipts']} measured)",
            flush=True,
        )
    print(f"load average during the run: {os.getloadavg()}; worker logs: {workdir}")


def throughput(bootstrap: str, overrides: dict[str, Any], args: Any, workdir: Path) -> float:
    """(a), (a2), (a3) and (b); returns (b), the worker's sustained rate."""
    settings = settings_for(bootstrap, **overrides)
    receipts = receipts_for(args.members, args.receipts)
    produce_seconds = produce(settings, receipts)
    print(f"produced {len(receipts)} receipts in {produce_seconds:.1f}s", flush=True)
    baseline = baseline_read_rate(settings, len(receipts))
    print(f"(a) baseline confluent-kafka read: {baseline:,.0f} receipts/s", flush=True)
    floor = faust_floor_rate(settings, len(receipts), workdir)
    print(
        f"(a2) bare Faust agent (batches taken and acked, nothing else): "
        f"{floor['rate']:,.0f} receipts/s, {floor['cpu_us_per_receipt']:,.0f} us CPU/receipt",
        flush=True,
    )
    alone = apply_path_rate(receipts, settings.partitions)
    print(
        f"(a3) the batch path alone, no Kafka (decode, rules, encode, records): "
        f"{alone['rate']:,.0f} receipts/s per core, {alone['cpu_us_per_receipt']:,.0f} us/receipt",
        flush=True,
    )
    pipeline = pipeline_rate(settings, len(receipts), workdir, args.workers)
    print(
        f"(b) pipeline, {args.workers} worker(s): {pipeline['receipts']:,.0f} receipts in "
        f"{pipeline['seconds']:.1f}s = "
        f"{pipeline['rate']:,.0f} receipts/s; ratio (b)/(a) = {pipeline['rate'] / baseline:.3f}, "
        f"(b)/(a2) = {pipeline['rate'] / max(floor['rate'], 1e-9):.2f}; "
        f"worker CPU {pipeline['cpu_us_per_receipt']:,.0f} us/receipt "
        f"= x{pipeline['cpu_us_per_receipt'] / floor['cpu_us_per_receipt']:.2f} the bare agent's",
        flush=True,
    )
    return float(pipeline["rate"])


if __name__ == "__main__":
    main()
