"""How the worker's costs grow with the number of members: memory, restarts, recovery, rate.

For each N (default 10,000, 100,000 and 1,000,000 members), in one run:
1. The member table's changelog is seeded with N member records made by the worker's own
   code: the rules core applies a simulated year to a pool of members (`--pool`, the
   simulator's members: the median state is realistic, not one receipt each), and each of the
   N members gets a pool member's record (`MemberRecord.to_bytes`) under its own id. Building
   a million such members through a live worker would take hours on 2 cores.
2. Cold start: a worker on an empty data directory (a new machine) recovers the table from
   the changelog; the recovery rate is member records per second, from the worker's log (the
   assignment to the moment its input partitions open).
3. Sustained rate: once the worker is quiet after the recovery (RocksDB compacts what the
   recovery wrote; how long that took is reported as "settle"), `--receipts` sales to
   distinct random members, produced at once; receipts per second from the start of the
   produce to the commit of the last one; the median of 3 such rounds.
4. Resident memory of the worker (after the load).
5. Restart after SIGKILL with its local state: the worker is killed, 2,000 new sales are
   produced, a worker starts on the same data directory: seconds from the kill until it
   commits again, and until it has caught up on the 2,000.
Ratios are against N = the smallest size of the same run, so they carry over between machines.

    .venv/bin/python -m bench.bench_scale [--members 10000,100000,1000000] [--store rocksdb://]

Uses TIERFLOW_BOOTSTRAP_SERVERS if set, else starts (or reuses) the embedded broker.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.bench_pipeline import PROGRAM, REPO, committed_total, free_port, settings_for

NEW_RECEIPTS_AFTER_KILL = 2_000
STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})")


@dataclass(frozen=True)
class Pool:
    """Member records of a simulated year (their bytes) and sales to send to any member."""

    records: list[bytes]
    sales: list[Any]

    def median_bytes(self) -> int:
        return sorted(len(r) for r in self.records)[len(self.records) // 2]


def member_pool(size: int) -> Pool:
    """`size` members through a simulated year, applied by the worker's use case."""
    from agents.rules.events import Receipt, ReceiptKind
    from agents.usecase import MemberRecord
    from streams.offline.replay import Replay
    from streams.program import load_program
    from streams.simulator.stream import SimulationParams, simulate

    program = load_program(PROGRAM)
    params = SimulationParams(seed=11, members=size, receipts=size * 40)
    history = [m for m in simulate(params, program) if not type(m).__name__.startswith("Malformed")]
    replay = Replay(program)
    replay.apply_inputs(history)
    records = [
        MemberRecord(record.state, {}, record.next_review).to_bytes()
        for record in replay.records.values()
        if record.state is not None and record.state.is_member
    ]
    sales = [m for m in history if isinstance(m, Receipt) and m.kind is ReceiptKind.SALE]
    return Pool(records, sales)


def member_id(n: int) -> str:
    return f"S{n:08d}"


def seed_changelog(settings: Any, pool: Pool, members: int) -> float:
    """N member records on the table's changelog (made as Faust would: compacted topic,
    key = member id, on the member's partition); returns the seconds it took."""
    from confluent_kafka import Producer

    from agents.usecase import MemberRecord, partition_of

    topic = settings.member_changelog  # created compacted with the contract's topics
    producer = Producer(
        settings.kafka_client_config()
        | {"linger.ms": 50, "compression.type": "lz4", "queue.buffering.max.messages": 500_000}
    )
    templates = [MemberRecord.from_bytes(raw) for raw in pool.records]
    started = time.perf_counter()
    for n in range(members):
        key = member_id(n)
        template = templates[n % len(templates)]
        assert template.state is not None
        record = MemberRecord(replace(template.state, member_id=key), {}, template.next_review)
        value = record.to_bytes()
        while True:
            try:
                producer.produce(
                    topic,
                    value,
                    key.encode(),
                    partition=partition_of(key.encode(), settings.partitions),
                )
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush(300)
    return time.perf_counter() - started


def sales_to(pool: Pool, members: int, count: int, seed: int, first_id: int) -> list[Any]:
    """`count` pool sales re-addressed to distinct random existing members, stamped now.

    Distinct: every receipt loads and writes its own member record at every N (with repeats,
    a batch touching a member twice loads it once, which flatters the small sizes)."""
    chooser = random.Random(seed)
    now = datetime.now(UTC)
    return [
        replace(
            pool.sales[(first_id + n) % len(pool.sales)],
            receipt_id=f"scale-{first_id + n}",
            member_id=member_id(chosen),
            occurred_at=now,
        )
        for n, chosen in enumerate(chooser.sample(range(members), count))
    ]


def produce(settings: Any, receipts: list[Any]) -> None:
    from streams.broker.producer import LoyaltyProducer

    producer = LoyaltyProducer(settings)
    for receipt in receipts:
        producer.send_receipt(receipt)
    producer.flush(120)
    producer.close()


def log_time(log: Path, pattern: str, after: float = 0.0) -> float | None:
    """Epoch seconds of the first log line matching `pattern` at or after `after`."""
    for line in log.read_text(errors="replace").splitlines():
        stamp = STAMP.match(line)
        if stamp and re.search(pattern, line):
            at = datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            if at >= after:
                return at
    return None


def wait_for(check: Any, timeout: float, what: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise TimeoutError(f"{what}: not reached in {timeout:.0f} s")


@dataclass
class SizeResult:
    members: int
    seed_seconds: float
    recovery_seconds: float
    settle_seconds: float
    sustained_rate: float
    rss_mib: float
    restart_commit_seconds: float
    restart_caught_up_seconds: float

    @property
    def recovery_rate(self) -> float:
        return self.members / self.recovery_seconds


SUSTAINED_ROUNDS = 3
QUIET_CPU = 0.15  # of one core: the worker idle, RocksDB's compactions done
SETTLE_AT_MOST = 300.0


def settled(process: Any) -> float:
    """Seconds until `process` (and its threads) use under QUIET_CPU of a core over a
    second, at most SETTLE_AT_MOST."""
    began = time.perf_counter()
    while time.perf_counter() - began < SETTLE_AT_MOST:
        if process.cpu_percent(interval=1.0) < QUIET_CPU * 100:
            break
    return time.perf_counter() - began


def measure(bootstrap: str, pool: Pool, members: int, receipts: int, store: str) -> SizeResult:
    import psutil

    sys.path.insert(0, str(REPO / "tests" / "agents"))
    from live_worker import WorkerProcess

    settings = settings_for(bootstrap, review_timer=False, store=store)
    seed_seconds = seed_changelog(settings, pool, members)
    workdir = Path(tempfile.mkdtemp(prefix=f"tierflow-scale-{members}-"))
    port = free_port()
    worker = WorkerProcess(settings, port, workdir / "data", workdir / "worker.log")
    try:
        started = time.time()
        worker.start()
        wait_for(
            lambda: log_time(worker.log_path, "input_partitions_open", started),
            1800,
            f"recovery of {members:,} members",
            every=1.0,
        )
        assigned = log_time(worker.log_path, "Executing _on_partitions_assigned", started)
        opened = log_time(worker.log_path, "input_partitions_open", started)
        assert assigned is not None and opened is not None
        recovery_seconds = opened - assigned
        # After a bulk recovery RocksDB compacts what it wrote, on the same two cores: the
        # sustained rate is the worker's once that is done (how long it took is reported).
        assert worker.process is not None
        settle_seconds = settled(psutil.Process(worker.process.pid))

        rates = []
        for round_ in range(SUSTAINED_ROUNDS):
            first_id = round_ * receipts  # receipt ids unique over the rounds
            load = sales_to(pool, members, receipts, seed=members + round_, first_id=first_id)
            target = committed_total(settings, "receipts") + len(load)
            began = time.perf_counter()
            produce(settings, load)
            wait_for(
                lambda target=target: committed_total(settings, "receipts") >= target,
                900,
                "the sustained load",
                every=0.2,
            )
            rates.append(len(load) / (time.perf_counter() - began))
        sustained_rate = statistics.median(rates)
        rss_mib = psutil.Process(worker.process.pid).memory_info().rss / 2**20

        worker.stop(signal.SIGKILL)
        killed = time.perf_counter()
        extra = sales_to(
            pool,
            members,
            NEW_RECEIPTS_AFTER_KILL,
            seed=-members,
            first_id=SUSTAINED_ROUNDS * receipts,
        )
        produce(settings, extra)
        before = committed_total(settings, "receipts")
        worker.start()  # the same data directory: the local store survived
        wait_for(
            lambda: committed_total(settings, "receipts") > before, 300, "a commit after restart"
        )
        restart_commit = time.perf_counter() - killed
        wait_for(
            lambda: committed_total(settings, "receipts") >= before + len(extra),
            300,
            "catching up after restart",
        )
        restart_caught_up = time.perf_counter() - killed
    finally:
        worker.stop(signal.SIGTERM)
    shutil.rmtree(workdir, ignore_errors=True)
    return SizeResult(
        members,
        seed_seconds,
        recovery_seconds,
        settle_seconds,
        sustained_rate,
        rss_mib,
        restart_commit,
        restart_caught_up,
    )


def report(results: list[SizeResult], store: str, pool: Pool) -> None:
    base = results[0]
    print(
        f"store {store}; member records from a simulated year of {len(pool.records):,} "
        f"members (median {pool.median_bytes():,} bytes); machine: {os.cpu_count()} cores",
        flush=True,
    )
    header = (
        "members    | seed s | cold recovery rec/s | settle s | rate/s (x base) | RSS MiB | "
        "SIGKILL->commit s | SIGKILL->caught up s"
    )
    print(header)
    for r in results:
        print(
            f"{r.members:>10,} | {r.seed_seconds:6.0f} | {r.recovery_rate:>19,.0f} | "
            f"{r.settle_seconds:8.0f} | "
            f"{r.sustained_rate:>6,.0f} ({r.sustained_rate / base.sustained_rate:.2f}) | "
            f"{r.rss_mib:7,.0f} | {r.restart_commit_seconds:17.1f} | "
            f"{r.restart_caught_up_seconds:20.1f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", default="10000,100000,1000000")
    parser.add_argument(
        "--receipts", type=int, default=10_000, help="sustained load per size (<= members)"
    )
    parser.add_argument("--pool", type=int, default=2_000, help="simulated members")
    parser.add_argument("--store", default="rocksdb://")
    args = parser.parse_args()
    sizes = [int(size) for size in args.members.split(",")]

    bootstrap = os.environ.get("TIERFLOW_BOOTSTRAP_SERVERS")
    broker = None
    if not bootstrap:
        from streams.broker.embedded import start_broker
        from streams.settings import Settings

        broker = start_broker(Settings())
        bootstrap = broker.bootstrap_servers
    try:
        pool = member_pool(args.pool)
        results = []
        for members in sizes:
            results.append(measure(bootstrap, pool, members, args.receipts, args.store))
            print(f"measured {members:,} members", flush=True)
        report(results, args.store, pool)
    finally:
        if broker is not None and not broker.reused:
            from streams.broker.embedded import stop_broker
            from streams.settings import Settings

            stop_broker(Settings())


if __name__ == "__main__":
    main()
