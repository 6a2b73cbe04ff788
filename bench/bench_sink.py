"""The sink's ingest rate (topic -> committed DuckDB rows) and the marts' query times.

`python -m bench.bench_sink [--receipts N] [--mart-receipts N] [--skip-ingest]`.
Ingest: N receipts (3 lines each) and N ledger entries are produced to fresh topics, then the
sink consumes them into an empty store; rows/s counts every stored row (receipt, line, ledger
entry) from the first consumed message to the last commit. Baselines in the same run: the same
rows as ready Arrow tables inserted into DuckDB with a plain INSERT (the store's ceiling), and
the codec's decode rate of the same messages. Marts: a synthetic year at --mart-receipts
receipts written straight into the tables; each mart fully read into Arrow, best of 3.
Kafka: TIERFLOW_BOOTSTRAP_SERVERS if set, else an embedded broker of its own (ports 19292/3).
"""

from __future__ import annotations

import argparse
import os
import platform
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
REPO = Path(__file__).resolve().parents[1]


def _best(run: Callable[[], object], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def marts(receipts: int, folder: Path) -> None:
    from sink.store import MARTS, Store

    path = folder / "marts.duckdb"
    store = Store(path, "America/New_York")
    con = store.connection
    started = time.perf_counter()
    con.execute(f"SET VARIABLE receipts = {receipts}")
    con.execute(f"SET VARIABLE members = {max(receipts // 10, 100)}")
    con.execute((REPO / "bench" / "sink_synthetic.sql").read_text("utf-8"))
    con.execute("CHECKPOINT")
    counts = {
        table: con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        for table in ("receipts", "receipt_lines", "ledger", "members", "tier_changes")
    }
    print(
        f"marts: synthetic store built in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{table} {count:,}" for table, count in counts.items())
    )
    queries = {
        name: f"SELECT * FROM {name}" for name in MARTS if not name.startswith(("stg_", "kpis_"))
    }
    queries["member_activity (one member)"] = (
        "SELECT * FROM member_activity WHERE member_id = 'm42' ORDER BY occurred_at DESC"
    )
    slowest = 0.0
    for name, sql in queries.items():
        rows = 0

        def run(sql: str = sql) -> None:
            nonlocal rows
            rows = con.sql(sql).to_arrow_table().num_rows

        seconds = _best(run)
        slowest = max(slowest, seconds)
        verdict = "ok" if seconds < GOAL_MART_S else "SLOW"
        print(f"  {name:<30} {seconds * 1000:8.0f} ms  {rows:>9,} rows  {verdict}")
    verdict = "meets" if slowest < GOAL_MART_S else "misses"
    print(f"marts {verdict} the < {GOAL_MART_S:.0f} s goal (slowest {slowest:.2f} s)")
    store.close()


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


def ingest(count: int, folder: Path, decode_workers: list[int]) -> None:
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
            store = Store(folder / f"ingest{workers}.duckdb", "America/New_York")
            sink = Sink(settings, store, until_idle=2.0, snapshot_every=0, decode_workers=workers)
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
    finally:
        stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receipts", type=int, default=100_000, help="ingest: receipts")
    parser.add_argument("--mart-receipts", type=int, default=1_000_000)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument(
        "--decode-workers", type=int, nargs="+", default=[0, 2], help="sink runs to measure"
    )
    args = parser.parse_args(argv)
    print(
        f"python {platform.python_version()} duckdb {duckdb.__version__} on "
        f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="tierflow-bench-") as temporary:
        folder = Path(temporary)
        marts(args.mart_receipts, folder)
        if not args.skip_ingest:
            ingest(args.receipts, folder, args.decode_workers)


if __name__ == "__main__":
    main(sys.argv[1:])
