"""The sink's operations endpoints without a broker: lag and data age from the offsets the
store holds and the broker's end offsets, readiness and liveness conditions, the metric
families as Prometheus reads them, and the HTTP server."""

from __future__ import annotations

import json
import logging
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sink_records import ledger, receipt

from sink.consumer import Sink, SinkStats, _Item
from sink.monitoring import MAX_MARKS, Freshness, Histogram
from sink.operations import STALLED_AFTER, SinkCollector, health, readiness, serve
from sink.store import Store
from streams.settings import Settings

R0, R1, L0 = ("t.pos.receipts", 0), ("t.pos.receipts", 1), ("t.loyalty.ledger", 0)


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class _Store:
    closed: bool = False


@dataclass
class FakeSink:
    """What the endpoints read of a `Sink`: stats, freshness, store, stop and refusal; and
    where the broker's end offsets come from (the loop of a real one)."""

    clock: Clock = field(default_factory=Clock)
    stats: SinkStats = field(default_factory=SinkStats)
    store: _Store = field(default_factory=_Store)
    stopping: bool = False
    refused: str | None = None
    end_offsets_every: float = 0.0

    def __post_init__(self) -> None:
        self.freshness = Freshness(self.clock)


def test_lag_is_the_broker_end_minus_the_next_offset_the_store_holds() -> None:
    freshness = Freshness(Clock())
    freshness.assign([R0, R1, L0], {R0: 40})
    freshness.observe({R0: (0, 100), R1: (5, 30), L0: (-1001, -1001)})
    # R1 was never stored: it starts at the broker's first offset; L0 is not fetched yet.
    assert freshness.lag() == {R0: 60, R1: 25}
    assert freshness.unknown() == 1
    freshness.committed({R0: 100, R1: 30})
    assert freshness.lag() == {R0: 0, R1: 0}


def test_data_age_counts_from_when_the_first_unseen_message_was_seen_on_the_broker() -> None:
    clock = Clock(1000.0)
    freshness = Freshness(clock)
    freshness.assign([R0], {R0: 10})
    freshness.observe({R0: (0, 10)})
    assert freshness.data_age() == 0.0  # caught up
    freshness.observe({R0: (0, 15)})  # offsets 10..14 arrive, seen at t=1000
    clock.now = 1001.0
    freshness.observe({R0: (0, 20)})  # 15..19, seen at t=1001
    clock.now = 1004.0
    assert freshness.data_age() == 4.0  # offset 10 waits since 1000
    freshness.committed({R0: 15})
    assert freshness.data_age() == 3.0  # offset 15 waits since 1001
    freshness.committed({R0: 20})
    assert freshness.data_age() == 0.0
    assert freshness.lag() == {R0: 0}


def test_a_quiet_topic_has_no_age_however_old_its_last_message() -> None:
    clock = Clock()
    freshness = Freshness(clock)
    freshness.assign([R0], {R0: 10})
    freshness.observe({R0: (0, 10)})
    clock.now += 3600
    freshness.observe({R0: (0, 10)})
    assert freshness.data_age() == 0.0


def test_merged_marks_make_the_age_older_never_younger() -> None:
    clock = Clock(0.0)
    freshness = Freshness(clock)
    freshness.assign([R0], {R0: 0})
    for second in range(MAX_MARKS + 1):
        clock.now = float(second)
        freshness.observe({R0: (0, second + 1)})  # one more message each second
    assert len(freshness.marks[R0]) <= MAX_MARKS // 2 + 1  # merged once
    clock.now = float(MAX_MARKS + 10)
    for stored in range(0, MAX_MARKS + 1, 7):
        freshness.committed({R0: stored})
        true_age = clock.now - stored  # offset `stored` arrived at t = stored
        assert freshness.data_age() >= true_age, stored


def test_revoked_partitions_leave_lag_and_age() -> None:
    freshness = Freshness(Clock())
    freshness.assign([R0, R1], {R0: 0, R1: 0})
    freshness.observe({R0: (0, 5), R1: (0, 7)})
    freshness.revoke([R0])
    assert freshness.lag() == {R1: 7}
    assert freshness.partitions() == [R1]


def test_histogram_buckets_are_cumulative_with_inf_last() -> None:
    histogram = Histogram((0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        histogram.observe(value)
    assert histogram.cumulative() == [("0.1", 2), ("1.0", 3), ("+Inf", 4)]
    assert histogram.count == 4 and histogram.total == pytest.approx(3.65)


def test_readiness_needs_partitions_their_ends_an_open_store_and_lag_within_bound() -> None:
    sink = FakeSink()
    ready, body = readiness(sink, max_lag=10)
    assert not ready and body["reasons"] == ["no partitions assigned (or a rebalance under way)"]

    sink.freshness.assign([R0, R1], {R0: 0, R1: 0})
    sink.freshness.observe({R0: (0, 5)})
    ready, body = readiness(sink, max_lag=10)
    assert not ready and body["reasons"] == ["end offsets of 1 partitions not fetched yet"]

    sink.freshness.observe({R1: (0, 20)})
    ready, body = readiness(sink, max_lag=10)
    assert not ready and body["reasons"] == ["lag 25 above 10"] and body["lag"] == 25

    sink.freshness.committed({R0: 5, R1: 20})
    ready, body = readiness(sink, max_lag=10)
    assert ready and body == {
        "ready": True,
        "assigned_partitions": 2,
        "lag": 0,
        "data_age_s": 0.0,
        "reasons": [],
    }

    sink.store.closed = True
    sink.stopping = True
    assert readiness(sink, max_lag=10)[1]["reasons"] == ["the store is not open", "stopping"]


def test_health_says_stalled_when_the_consume_loop_stops_turning() -> None:
    sink = FakeSink()
    assert health(sink)[0]
    sink.stats.last_turn -= STALLED_AFTER + 1
    alive, body = health(sink)
    assert not alive and body["status"] == "stalled"


def _samples(sink: FakeSink, max_lag: int = 10) -> dict[tuple[str, tuple[Any, ...]], float]:
    registry = CollectorRegistry()
    registry.register(SinkCollector(sink, max_lag))  # type: ignore[arg-type]
    text = generate_latest(registry).decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_the_collector_reads_the_stats_and_the_offsets_at_scrape_time() -> None:
    sink = FakeSink()
    sink.freshness.assign([R0, L0], {R0: 0, L0: 0})
    sink.freshness.observe({R0: (0, 4), L0: (0, 3)})
    sink.stats.table_rows.update({"receipts": 4, "receipt_lines": 12, "ledger": 3})
    sink.stats.commit_seconds.observe(0.02)
    sink.stats.commit_seconds.observe(0.4)
    sink.stats.upkeep_seconds.observe(2.0)
    sink.stats.last_commit_unix = 1_700_000_000.0
    samples = _samples(sink)
    assert samples[("tierflow_sink_rows_total", (("table", "receipt_lines"),))] == 12
    assert samples[("tierflow_sink_rows_total", (("table", "members"),))] == 0
    assert samples[("tierflow_sink_commit_seconds_count", ())] == 2
    assert samples[("tierflow_sink_commit_seconds_bucket", (("le", "0.025"),))] == 1
    assert samples[("tierflow_sink_upkeeps_total", ())] == 1
    assert samples[("tierflow_sink_upkeep_seconds_sum", ())] == 2.0
    lag = (("partition", "0"), ("topic", "t.pos.receipts"))
    assert samples[("tierflow_sink_lag", lag)] == 4
    assert samples[("tierflow_sink_data_age_seconds", ())] == 0.0  # first seen just now
    assert samples[("tierflow_sink_last_commit_timestamp_seconds", ())] == 1_700_000_000.0
    assert samples[("tierflow_sink_assigned_partitions", ())] == 2
    assert samples[("tierflow_sink_ready", ())] == 1  # lag 7 within 10

    sink.clock.now += 5
    later = _samples(sink, max_lag=5)
    assert later[("tierflow_sink_data_age_seconds", ())] == 5.0
    assert later[("tierflow_sink_ready", ())] == 0


def test_the_sink_counts_the_rows_the_store_writes_by_table(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb", "UTC")
    sink = Sink(Settings(topic_prefix="t."), store)
    items = [
        _Item(*receipt("r1", "m1", "2024-05-01T12:00", "10.00"), ("t.pos.receipts", 0, 0)),
        _Item(*ledger("l1", "m1", "2024-05-01T12:00", "EARN", 10), ("t.loyalty.ledger", 1, 8)),
    ]
    sink._append(items, {("t.pos.receipts", 0): 1, ("t.loyalty.ledger", 1): 9})
    stored = {
        table: store.connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("receipts", "receipt_lines", "ledger")
    }
    assert stored == {"receipts": 1, "receipt_lines": 1, "ledger": 1}
    assert {table: sink.stats.table_rows[table] for table in stored} == stored
    handed = sink.stats.rows
    sink._append(items, {})  # a replay: handed again, nothing written
    assert {table: sink.stats.table_rows[table] for table in stored} == stored
    assert sink.stats.rows == 2 * handed == 6
    store.close()
    assert store.closed


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_the_server_answers_metrics_healthz_and_readyz() -> None:
    sink = FakeSink()
    server = serve(sink, "127.0.0.1", _free_port(), max_lag=10)
    assert server is not None
    assert sink.end_offsets_every == 1.0  # the loop looks at the broker's ends once a second
    base = f"http://127.0.0.1:{server.port}"
    try:
        status, kind, body = _get(base + "/readyz")
        assert status == 503 and kind == "application/json"
        assert json.loads(body)["reasons"] == ["no partitions assigned (or a rebalance under way)"]
        sink.freshness.assign([R0], {R0: 3})
        sink.freshness.observe({R0: (0, 3)})
        status, _, body = _get(base + "/readyz")
        assert status == 200 and json.loads(body)["ready"] is True
        status, _, body = _get(base + "/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, kind, body = _get(base + "/metrics")
        assert status == 200 and kind.startswith("text/plain")
        names = {family.name for family in text_string_to_metric_families(body.decode())}
        assert {"tierflow_sink_rows", "tierflow_sink_lag", "process_cpu_seconds"} <= names
        assert _get(base + "/nothing")[0] == 404
    finally:
        server.close()


def test_a_port_in_use_is_logged_and_the_sink_goes_on_without_endpoints(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.ERROR, logger="tierflow.sink.operations"):
            assert serve(FakeSink(), "127.0.0.1", port, max_lag=10) is None
    assert f"event=operations_unavailable host=127.0.0.1 port={port}" in caplog.text
    assert serve(FakeSink(), "127.0.0.1", 0, max_lag=10) is None  # 0: no endpoints


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
