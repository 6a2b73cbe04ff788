"""The analytics store at size: publishing cost and readers' freshness, marts, ingest.

`python -m bench.bench_sink [--publish-sizes N M] [--mart-receipts N] [--receipts N]
[--skip-publish] [--skip-marts] [--skip-ingest] [--endpoint-rounds N]`.
Publish: a DuckLake grown to each size (receipts; a member per 10) by bench/sink_synthetic.sql
(rows written straight into the tables, not through Kafka), reopened (the writer indexes the
stored keys), then --publish-batches sink batches of 20,000 messages (receipts with 3 lines,
ledger entries, member snapshots of stored members, member events, dead letters) appended with
the sink's own `Store.append_batch`, one upkeep pass (`Store.checkpoint`), while a reader
process polls the lake: the cost per batch at each size, its ratio to the smallest size, and
how old the data a reader sees can be. Marts: a synthetic year at --mart-receipts receipts in
a DuckLake and in a single DuckDB file; each mart read whole into Arrow, best of 3, and the
ratio lake / file. Ingest: N receipts (3 lines each) and N ledger entries produced to fresh
topics, consumed by the sink into an empty DuckLake; baselines in the same run: a bare
consumer, a plain DuckDB insert of the same Arrow tables, the codec's decode rate. Then the
cost of the operations endpoints: the same ingest with and without them (/metrics scraped every
second by another process meanwhile, 15 times Prometheus's default), runs alternated: the rate
(best of --endpoint-rounds) and the rows per CPU second of the sink's process (median).
Kafka: TIERFLOW_BOOTSTRAP_SERVERS if set, else an embedded broker of its own (ports 19292/3).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

GOAL_ROWS_PER_S = 200_000
GOAL_MART_S = 1.0
GOAL_FRESH_S = 30.0
GOAL_PUBLISH_RATIO = 1.5
GOAL_ENDPOINT_COST = 0.03  # metrics may cost the sink's ingest rate at most 3%
SCRAPE_EVERY = 1.0
REPO = Path(__file__).resolve().parents[1]


def _best(run: Callable[[], object], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _seed(store: Any, first: int, receipts: int, per_year: int) -> None:
    """Add receipts [first, first + receipts) of the synthetic program (and their members)."""
    con = store.connection
    for name, value in (
        ("first", first),
        ("receipts", receipts),
        ("members", max((first + receipts) // 10, 100)),
        ("per_year", per_year),
    ):
        con.execute(f"SET VARIABLE {name} = {value}")
    con.execute((REPO / "bench" / "sink_synthetic.sql").read_text("utf-8"))


def _mart_times(con: Any) -> dict[str, tuple[float, int]]:
    from sink.store import MARTS

    queries = {
        name: f"SELECT * FROM {name}" for name in MARTS if not name.startswith(("stg_", "kpis_"))
    }
    queries["member_activity (one member)"] = (
        "SELECT * FROM member_activity WHERE member_id = 'm42' ORDER BY occurred_at DESC"
    )
    times = {}
    for name, sql in queries.items():
        rows = 0

        def run(sql: str = sql) -> None:
            nonlocal rows
            rows = con.sql(sql).to_arrow_table().num_rows

        times[name] = (_best(run), rows)
    return times


def marts(receipts: int, folder: Path) -> None:
    from sink.lake import open_for_reading
    from sink.store import Store

    measured = {}
    for kind in ("ducklake", "duckdb"):
        path = folder / f"marts.{kind}"
        store = Store(path, "America/New_York")
        started = time.perf_counter()
        _seed(store, 0, receipts, receipts)
        store.close()
        con, _ = open_for_reading(path)  # as a reader would, the writer gone
        counts = {
            table: con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            for table in ("receipts", "receipt_lines", "ledger", "members", "tier_changes")
        }
        print(
            f"marts ({kind}): synthetic store built in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{table} {count:,}" for table, count in counts.items())
        )
        measured[kind] = _mart_times(con)
        con.close()
    slowest = 0.0
    print(f"  {'mart':<30} {'DuckLake':>9} {'one file':>9} {'ratio':>6} {'rows':>10}")
    for name, (seconds, rows) in measured["ducklake"].items():
        single = measured["duckdb"][name][0]
        slowest = max(slowest, seconds)
        verdict = "ok" if seconds < GOAL_MART_S else "SLOW"
        print(
            f"  {name:<30} {seconds * 1000:6.0f} ms {single * 1000:6.0f} ms "
            f"x{seconds / single:5.2f} {rows:>10,}  {verdict}"
        )
    verdict = "meets" if slowest < GOAL_MART_S else "misses"
    print(
        f"marts on the DuckLake {verdict} the < {GOAL_MART_S:.0f} s goal at {receipts:,} receipts "
        f"(slowest {slowest:.2f} s)"
    )


# A reader process: prints when the lake shows more committed offsets (the sink's batches).
_READER = """
import sys, time
from sink.lake import open_for_reading
con, _ = open_for_reading(sys.argv[1])
last = None
while True:
    seen = con.execute("SELECT coalesce(sum(next_offset), 0) FROM sink_offsets").fetchone()[0]
    if seen != last:
        print(time.time(), seen, flush=True)
        last = seen
    if seen >= int(sys.argv[2]):
        break
    time.sleep(0.05)
"""


def _sink_batch(size: int, batch: int, members: int) -> tuple[dict[str, Any], dict[Any, int]]:
    """One sink batch of 20,000 messages as the sink builds it, and the offsets it covers."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from sink.batch import BatchBuilder

    builder = BatchBuilder()
    start = datetime(2025, 1, 1, 12, tzinfo=UTC)
    per_kind = 6_000
    for i in range(per_kind):
        n = batch * per_kind + i
        member = f"m{(n * 7919) % members}"
        when = start + timedelta(seconds=n)
        lines = [
            {
                "sku": f"sku-{k}",
                "category": category,
                "quantity": 1,
                "unit_price": Decimal("4.50"),
                "amount": Decimal("4.50"),
            }
            for k, category in enumerate(("grocery", "home", "apparel"))
        ]
        position = ("pos.receipts", n % 8, size + n)
        builder.add(
            "Receipt",
            {
                "receipt_id": f"b{size}-{n}",
                "member_id": member,
                "store_id": f"s{n % 50}",
                "terminal_id": "t1",
                "occurred_at": when,
                "currency": "USD",
                "kind": "SALE",
                "original_receipt_id": None,
                "total": Decimal("13.50"),
                "lines": lines,
            },
            position,
        )
        builder.add(
            "LedgerEntry",
            {
                "entry_id": f"bl{size}-{n}",
                "member_id": member,
                "occurred_at": when,
                "kind": "EARN",
                "points": 13,
                "qualifying_points": 13,
                "balance_after": n,
                "tier": "Member",
                "multiplier": Decimal(1),
                "receipt_id": f"b{size}-{n}",
                "description": "Member (x1)",
            },
        )
        builder.add(
            "MemberSnapshot",
            {
                "member_id": member,
                "status": "active",
                "tier": "Member",
                "balance": n,
                "qualifying_points": n % 9000,
                "next_tier": "Silver",
                "points_to_next_tier": 10_000 - n % 9000,
                "points_at_risk_30d": 0,
                "multiplier": Decimal(1),
                "enrolled_at": start,
                "updated_at": when,
                "name": f"Member {member}",
                "email": f"{member}@example.org",
                "phone": None,
            },
        )
        if i < 1_990:
            builder.add(
                "MemberEvent",
                {
                    "event_id": f"be{size}-{n}",
                    "member_id": member,
                    "type": "points_adjusted",
                    "occurred_at": when,
                    "points": 5,
                    "actor": "agent-1",
                    "reason": "goodwill",
                    "counts_toward_qualifying": False,
                },
                ("loyalty.member-events", n % 8, size + n),
            )
        elif i < 2_000:
            builder.add(
                "DeadLetter",
                {
                    "source_topic": "pos.receipts",
                    "partition": position[1],
                    "offset": position[2],
                    "key": member.encode(),
                    "error_code": "invalid_receipt",
                    "error": "total",
                    "payload": b"",
                    "failed_at": when,
                },
            )
    offsets = {(topic, p): (batch + 1) * per_kind for topic in ("pos", "ledger") for p in range(8)}
    return builder.tables(), offsets


def publish(sizes: list[int], batches: int, folder: Path) -> None:
    from sink.lake import data_path
    from sink.store import Store

    path = folder / "publish.ducklake"
    grown = 0
    results: dict[int, dict[str, float]] = {}
    for size in sorted(sizes):
        store = Store(path, "America/New_York")
        started = time.perf_counter()
        while grown < size:
            chunk = min(1_000_000, size - grown)
            _seed(store, grown, chunk, max(sizes))
            grown += chunk
        store.checkpoint()
        store.close()
        seeded = time.perf_counter() - started
        opened = time.perf_counter()
        store = Store(path, "America/New_York")  # the writer indexes the stored keys
        opened = time.perf_counter() - opened
        files = list(data_path(path).rglob("*.parquet"))
        print(
            f"publish at {size:,} receipts: seeded by bench/sink_synthetic.sql (straight into the "
            f"lake, not through Kafka) in {seeded:.0f} s; {len(files):,} Parquet files, "
            f"{sum(f.stat().st_size for f in files) / 2**20:,.0f} MiB; writer opened (keys "
            f"indexed) in {opened:.1f} s"
        )
        stored = store.stored_offsets()
        prepared = []
        for k in range(batches):
            tables, offsets = _sink_batch(size, k, max(size // 10, 100))
            # Offsets go on from the stored ones: each batch's total is what a reader waits for.
            prepared.append((tables, {key: stored.get(key, 0) + v for key, v in offsets.items()}))
        reader = subprocess.Popen(
            [sys.executable, "-c", _READER, str(path), str(sum(prepared[-1][1].values()))],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert reader.stdout is not None
        reader.stdout.readline()  # the reader is attached
        costs, begun, done = [], [], []
        for tables, offsets in prepared:
            begun.append(time.time())
            start = time.perf_counter()
            store.append_batch(tables, offsets)
            costs.append(time.perf_counter() - start)
            done.append(time.time())
        upkeep = time.perf_counter()
        store.checkpoint()
        upkeep = time.perf_counter() - upkeep
        store.close()
        seen = [line.split() for line in reader.communicate(timeout=120)[0].splitlines()]
        ages = []
        for k, (_, offsets) in enumerate(prepared):
            wanted = sum(offsets.values())
            visible = min(float(t) for t, total in seen if int(total) >= wanted)
            ages.append(visible - begun[k])
        rows = sum(t.num_rows for t in prepared[0][0].values())
        results[size] = {
            "median": statistics.median(costs),
            "max": max(costs),
            "upkeep": upkeep,
            "age": max(ages),
        }
        print(
            f"  {batches} batches of 20,000 messages ({rows:,} rows each): commit median "
            f"{results[size]['median']:.3f} s, max {results[size]['max']:.3f} s; one upkeep pass "
            f"{upkeep:.2f} s; a reader saw each batch at most {max(ages):.2f} s after the sink "
            f"began to write it"
        )
    smallest = min(results)
    for size, result in sorted(results.items()):
        ratio = result["median"] / results[smallest]["median"]
        upkeep_ratio = result["upkeep"] / max(results[smallest]["upkeep"], 1e-9)
        print(
            f"publish cost at {size:,} / at {smallest:,} receipts: x{ratio:.2f} per batch "
            f"(goal <= x{GOAL_PUBLISH_RATIO}), x{upkeep_ratio:.2f} per upkeep pass; readers' "
            f"data at most {result['age']:.1f} s old (goal <= {GOAL_FRESH_S:.0f} s)"
        )
    largest = max(results)
    ratio = results[largest]["median"] / results[smallest]["median"]
    fresh = max(result["age"] for result in results.values())
    verdict = "meets" if ratio <= GOAL_PUBLISH_RATIO and fresh <= GOAL_FRESH_S else "misses"
    print(f"publishing {verdict} its goals (x{ratio:.2f}, {fresh:.1f} s)")


def _settings(folder: Path) -> tuple[Any, Callable[[], None]]:
    from streams.settings import Settings

    prefix = f"bench{uuid.uuid4().hex[:6]}."
    configured = Settings()
    if configured.bootstrap_servers:
        return Settings(topic_prefix=prefix, partitions=8), lambda: None
    from streams.broker.embedded import start_broker, stop_broker

    settings = Settings(
        home=REPO / ".tierflow" / "bench-broker",
        kafka_jars=REPO / ".tierflow" / "kafka" / "libs",
        broker_port=19292,
        controller_port=19293,
        topic_prefix=prefix,
        partitions=8,
    )
    broker = start_broker(settings, reset=True)
    print(f"ingest: embedded Kafka {broker.kafka_version} at {broker.bootstrap_servers}")
    return settings, (lambda: None) if broker.reused else (lambda: stop_broker(settings))


def _messages(count: int) -> list[tuple[str, str, bytes]]:
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from agents.rules.events import LineItem, Receipt, ReceiptKind
    from agents.rules.outputs import LedgerEntry, LedgerKind
    from schemas.codec import Codec

    codec = Codec()
    start = datetime(2024, 1, 1, 12, tzinfo=UTC)
    out = []
    for i in range(count):
        member = f"M-{i % 50_000:08d}"
        when = start + timedelta(seconds=31 * i)
        lines = tuple(
            LineItem(f"SKU-{(i + k) % 5000:05d}", category, 1, price, price)
            for k, (category, price) in enumerate(
                [
                    ("groceries", Decimal("3.49")),
                    ("apparel", Decimal("39.90")),
                    ("home", Decimal("12.75")),
                ]
            )
        )
        receipt = Receipt(
            f"R-{i:010d}",
            member,
            f"S-{i % 50:03d}",
            when,
            "USD",
            ReceiptKind.SALE,
            lines,
            sum((line.amount for line in lines), Decimal(0)),
            terminal_id="T-01",
        )
        entry = LedgerEntry(
            f"L-{i:010d}",
            member,
            when,
            LedgerKind.EARN,
            56,
            56,
            56 * (i // 50_000 + 1),
            "Silver",
            Decimal("1.5"),
            receipt_id=receipt.receipt_id,
            description="Silver (x1.5)",
        )
        out.append(("receipts", member, codec.encode(receipt)))
        out.append(("ledger", member, codec.encode(entry)))
    return out


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def _build(builder: Any, decoded: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    for name, record in decoded:
        builder.add(name, record)
    return dict(builder.tables())


def _plain_insert(tables: dict[str, Any], path: Path) -> float:
    """Seconds to copy ready Arrow tables into new DuckDB tables (no key, no join, no zone)."""
    con = duckdb.connect(str(path))
    started = time.perf_counter()
    for name, table in tables.items():
        con.register("batch", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM batch")
        con.unregister("batch")
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def _consume_only(settings: Any, expected: int) -> float:
    """Seconds for a bare read_committed consumer to fetch `expected` messages (no decoding)."""
    from confluent_kafka import Consumer

    from sink.consumer import SINK_TOPICS, consumer_config

    config = consumer_config(settings) | {"group.id": f"bench-raw-{uuid.uuid4().hex[:6]}"}
    consumer = Consumer(config)
    consumer.subscribe([settings.topic(name) for name in SINK_TOPICS])
    seen, first, last = 0, None, 0.0
    deadline = time.monotonic() + 300
    while seen < expected and time.monotonic() < deadline:
        batch = consumer.consume(num_messages=20_000, timeout=0.5)
        if batch:
            first = first or time.perf_counter()
            seen += sum(1 for message in batch if message.error() is None)
            last = time.perf_counter()
    consumer.close()
    return last - (first or last)


# Prometheus, played by another process: GET /metrics every SCRAPE_EVERY s until killed.
SCRAPER = """
import sys, time, urllib.request
while True:
    time.sleep(float(sys.argv[2]))
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=5) as answer:
            answer.read()
        print("scraped", flush=True)
    except OSError:
        pass
"""


class _EndpointCpu:
    """CPU seconds the operations endpoints take inside the sink's process: each request's
    handling (its thread) and the loop's once-a-second look at the end offsets."""

    def __init__(self) -> None:
        from sink import operations
        from sink.consumer import Sink

        self.seconds, self.requests, self.notes = 0.0, 0, 0
        for owner, name in ((operations._Handler, "do_GET"), (Sink, "_note_end_offsets")):
            setattr(owner, name, self._timed(getattr(owner, name), name == "do_GET"))

    def _timed(self, method: Callable[..., Any], request: bool) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            began = time.thread_time()
            try:
                return method(*args)
            finally:
                self.seconds += time.thread_time() - began
                self.requests += request
                self.notes += not request

        return timed


def _ingest_run(settings: Any, path: Path, *, endpoint: bool) -> tuple[float, float, float]:
    """One sink run into a fresh store: rows per second from first message to last commit,
    rows per CPU second of this process, CPU seconds of the process. With `endpoint`, the
    operations endpoints are up and another process scrapes /metrics every second (its CPU
    is not this process's)."""
    from sink.consumer import Sink
    from sink.operations import serve
    from sink.store import Store

    store = Store(path, "America/New_York")
    sink = Sink(settings, store, until_idle=2.0, maintain_every=0)
    server, scraper = None, None
    if endpoint:
        server = serve(sink, "127.0.0.1", _free_port(), max_lag=50_000)
        assert server is not None
        url = f"http://127.0.0.1:{server.port}/metrics"
        scraper = subprocess.Popen(
            [sys.executable, "-c", SCRAPER, url, str(SCRAPE_EVERY)],
            stdout=subprocess.PIPE,
            text=True,
        )
    cpu = time.process_time()
    try:
        stats = sink.run()
    finally:
        cpu = time.process_time() - cpu
        if server is not None:
            server.close()
        store.close()
    if scraper is not None:
        scraper.kill()
        scrapes = scraper.communicate()[0].count("scraped")
        assert scrapes > 0, "the endpoint was never scraped"
    assert stats.first_message is not None and stats.last_commit is not None
    return stats.rows / (stats.last_commit - stats.first_message), stats.rows / cpu, cpu


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def endpoint_cost(settings: Any, folder: Path, rounds: int) -> None:
    """The operations endpoints' cost to the ingest, runs alternated in the same run: the rate
    (best of the rounds; wall time, so other load on the machine shows) and rows per CPU
    second of the sink's process (median), with and without; and, measured inside the runs
    with them, the CPU the endpoints themselves took, as a share of the process's."""
    own = _EndpointCpu()
    runs: dict[bool, list[tuple[float, float, float]]] = {False: [], True: []}
    for number in range(rounds):
        for endpoint in (False, True):
            path = folder / f"endpoint{number}{'on' if endpoint else 'off'}.ducklake"
            runs[endpoint].append(_ingest_run(settings, path, endpoint=endpoint))
    rate = {on: max(run[0] for run in runs[on]) for on in runs}
    per_cpu = {on: statistics.median(run[1] for run in runs[on]) for on in runs}
    rate_ratio, cpu_ratio = rate[True] / rate[False], per_cpu[True] / per_cpu[False]
    share = own.seconds / sum(run[2] for run in runs[True])
    for on in runs:
        print(
            f"  endpoint {'on ' if on else 'off'}: rows/s "
            + ", ".join(f"{run[0]:,.0f}" for run in runs[on])
            + "; rows per CPU second "
            + ", ".join(f"{run[1]:,.0f}" for run in runs[on])
        )
    verdict = "meets" if share < GOAL_ENDPOINT_COST else "misses"
    print(
        f"metrics endpoint, {rounds} rounds (/metrics scraped every {SCRAPE_EVERY:g} s): rate "
        f"x{rate_ratio:.3f} with / without (best), rows per CPU second x{cpu_ratio:.3f} "
        f"(median); the endpoints' own CPU {own.seconds * 1000:.0f} ms for {own.requests} "
        f"scrapes and {own.notes} end-offset looks = {share:.2%} of the sink's CPU: {verdict} "
        f"the < {GOAL_ENDPOINT_COST:.0%} goal (load {os.getloadavg()[0]:.2f})"
    )


def ingest(count: int, folder: Path, decode_workers: list[int], endpoint_rounds: int = 2) -> None:
    from confluent_kafka import Producer

    from schemas.codec import Codec
    from sink.batch import BatchBuilder
    from sink.consumer import Sink
    from sink.store import Store
    from streams.broker.producer import PRODUCER_CONFIG
    from streams.broker.topics import create_topics

    settings, stop = _settings(folder)
    try:
        create_topics(settings)
        messages = _messages(count)
        producer = Producer(settings.kafka_client_config() | PRODUCER_CONFIG)
        for index, (topic, key, value) in enumerate(messages):
            producer.produce(settings.topic(topic), key=key.encode(), value=value)
            if index % 5000 == 0:
                producer.poll(0)
        producer.flush(120)
        del producer  # no reconnect attempts once the broker is stopped
        codec = Codec()
        decode_s, decoded = _timed(lambda: [codec.decode_record(v) for _, _, v in messages])
        builder = BatchBuilder()
        build_s, tables = _timed(lambda: _build(builder, decoded))
        rows = sum(table.num_rows for table in tables.values())
        insert_s = _plain_insert(tables, folder / "baseline.duckdb")
        consume_s = _consume_only(settings, len(messages))
        print(
            f"  baselines, same run: bare consumer {len(messages) / consume_s:,.0f} msg/s "
            f"(= {rows / consume_s:,.0f} rows/s); raw DuckDB Arrow insert of the same rows "
            f"{rows / insert_s:,.0f} rows/s; codec decode_record alone "
            f"{len(messages) / decode_s:,.0f} msg/s; dicts -> Arrow {len(messages) / build_s:,.0f}"
            f" msg/s (one core)"
        )
        best = 0.0
        for workers in decode_workers:
            store = Store(folder / f"ingest{workers}.ducklake", "America/New_York")
            sink = Sink(settings, store, until_idle=2.0, maintain_every=0, decode_workers=workers)
            stats = sink.run()
            store.close()
            assert stats.first_message is not None and stats.last_commit is not None
            seconds = stats.last_commit - stats.first_message
            rate = stats.rows / seconds
            best = max(best, rate)
            print(
                f"ingest, decode workers {workers}: {stats.messages:,} messages -> "
                f"{stats.rows:,} rows in {seconds:.2f} s ({stats.batches} batches): "
                f"{rate:,.0f} rows/s, {stats.messages / seconds:,.0f} msg/s; "
                f"x{rate * consume_s / rows:.2f} the bare consumer"
            )
        verdict = "meets" if best >= GOAL_ROWS_PER_S else "misses"
        print(f"ingest {verdict} the {GOAL_ROWS_PER_S:,} rows/s goal (best {best:,.0f} rows/s)")
        if endpoint_rounds:
            endpoint_cost(settings, folder, endpoint_rounds)
    finally:
        stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receipts", type=int, default=100_000, help="ingest: receipts")
    parser.add_argument("--mart-receipts", type=int, default=1_000_000)
    parser.add_argument(
        "--publish-sizes", type=int, nargs="+", default=[1_000_000, 10_000_000], help="receipts"
    )
    parser.add_argument("--publish-batches", type=int, default=10)
    parser.add_argument("--skip-publish", action="store_true")
    parser.add_argument("--skip-marts", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument(
        "--decode-workers", type=int, nargs="+", default=[0, 2], help="sink runs to measure"
    )
    parser.add_argument(
        "--endpoint-rounds", type=int, default=2, help="ingest runs with and without /metrics"
    )
    args = parser.parse_args(argv)
    print(
        f"python {platform.python_version()} duckdb {duckdb.__version__} on "
        f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="tierflow-bench-", dir=REPO / "data") as temporary:
        folder = Path(temporary)
        if not args.skip_publish:
            publish(args.publish_sizes, args.publish_batches, folder)
        if not args.skip_marts:
            marts(args.mart_receipts, folder)
        if not args.skip_ingest:
            ingest(args.receipts, folder, args.decode_workers, args.endpoint_rounds)


if __name__ == "__main__":
    main(sys.argv[1:])
