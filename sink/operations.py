"""The sink's operations endpoints on a port of its own (TIERFLOW_SINK_PORT): `/metrics`
(Prometheus text format, by prometheus_client), `/healthz` (the consume loop turns) and
`/readyz` (partitions assigned, store open, lag within TIERFLOW_SINK_READY_MAX_LAG).
docs/operations.md documents each family and the exact conditions.

The sink counts in plain numbers once per batch (SinkStats), and once a second its loop notes
the broker's end offsets as its consumer last fetched them (sink/monitoring.py, Freshness);
this collector reads them at each scrape. The server runs on a daemon thread.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.process_collector import ProcessCollector

log = logging.getLogger("tierflow.sink.operations")

# Seconds without a turn of the consume loop before /healthz says "stalled": longer than an
# upkeep pass of a large store or a batch into it may take, so a liveness probe does not
# restart a sink that only works.
STALLED_AFTER = 300.0
END_OFFSETS_EVERY = 1.0  # seconds between two looks at the broker's end offsets (data age)


def _histogram(name: str, documentation: str, histogram: Any) -> HistogramMetricFamily:
    return HistogramMetricFamily(
        name, documentation, buckets=histogram.cumulative(), sum_value=histogram.total
    )


class SinkCollector:
    """Every `tierflow_sink_*` family of one sink, read from it at scrape time."""

    def __init__(self, sink: Any, max_lag: int) -> None:
        self.sink = sink  # sink.consumer.Sink
        self.max_lag = max_lag

    def collect(self) -> Iterator[Metric]:
        sink = self.sink
        stats, freshness = sink.stats, sink.freshness
        rows = CounterMetricFamily(
            "tierflow_sink_rows",
            "Rows the store wrote, by table (a row whose key it holds already is not written "
            "again; members: snapshots applied, each replacing the member's row)",
            labels=["table"],
        )
        for table, count in sorted(dict(stats.table_rows).items()):
            rows.add_metric([table], count)
        yield rows
        for name, documentation, value in (
            ("tierflow_sink_messages", "Messages consumed from the topics", stats.messages),
            ("tierflow_sink_batches", "Batches committed to the store", stats.batches),
            (
                "tierflow_sink_undecodable",
                "Messages the sink could not decode (stored as dead_letters rows)",
                stats.undecodable,
            ),
            (
                "tierflow_sink_unstorable",
                "Records the store refused (stored as dead_letters rows, code unstorable)",
                stats.unstorable,
            ),
            ("tierflow_sink_tombstones", "Tombstones skipped (members topic)", stats.tombstones),
            ("tierflow_sink_upkeeps", "Upkeep passes of the store", stats.upkeep_seconds.count),
        ):
            yield CounterMetricFamily(name, documentation, value=value)
        yield _histogram(
            "tierflow_sink_commit_seconds",
            "A batch into the store: rows and offsets in one transaction",
            stats.commit_seconds,
        )
        yield _histogram(
            "tierflow_sink_upkeep_seconds",
            "An upkeep pass: small files merged, old snapshots expired, erasures finished",
            stats.upkeep_seconds,
        )
        lag = GaugeMetricFamily(
            "tierflow_sink_lag",
            "Messages on the broker (as the last fetch saw it) past what the store holds",
            labels=["topic", "partition"],
        )
        for (topic, partition), behind in freshness.lag().items():
            lag.add_metric([topic, str(partition)], behind)
        yield lag
        ready = readiness(sink, self.max_lag)[0]
        for name, documentation, value in (
            (
                "tierflow_sink_data_age_seconds",
                "How long the oldest message readers cannot see yet has been on the broker "
                "(0: the store holds every message the broker has)",
                freshness.data_age(),
            ),
            (
                "tierflow_sink_last_commit_timestamp_seconds",
                "When the last batch was committed to the store (Unix time; 0: never)",
                stats.last_commit_unix,
            ),
            (
                "tierflow_sink_assigned_partitions",
                "Partitions assigned to this sink",
                len(freshness.partitions()),
            ),
            ("tierflow_sink_ready", "1 when /readyz answers 200", 1 if ready else 0),
        ):
            yield GaugeMetricFamily(name, documentation, value=value)


def health(sink: Any) -> tuple[bool, dict[str, Any]]:
    """Alive: the consume loop has turned lately."""
    loop_age = time.monotonic() - sink.stats.last_turn
    alive = loop_age < STALLED_AFTER
    return alive, {"status": "ok" if alive else "stalled", "consume_loop_age_s": round(loop_age, 1)}


def readiness(sink: Any, max_lag: int) -> tuple[bool, dict[str, Any]]:
    """Ready: partitions assigned, their end offsets known, the store open, lag within the
    bound, and not stopping."""
    freshness = sink.freshness
    assigned = freshness.partitions()
    lag = sum(freshness.lag().values())
    unknown = freshness.unknown()
    reasons = []
    if not assigned:
        reasons.append("no partitions assigned (or a rebalance under way)")
    elif unknown:
        reasons.append(f"end offsets of {unknown} partitions not fetched yet")
    if sink.store.closed:
        reasons.append("the store is not open")
    if lag > max_lag:
        reasons.append(f"lag {lag} above {max_lag}")
    if sink.refused is not None:
        reasons.append("the broker refused the credentials")
    elif sink.stopping:
        reasons.append("stopping")
    body = {
        "ready": not reasons,
        "assigned_partitions": len(assigned),
        "lag": lag,
        "data_age_s": round(freshness.data_age(), 1),
        "reasons": reasons,
    }
    return not reasons, body


class OperationsServer:
    """`/metrics`, `/healthz` and `/readyz` of one sink, on a daemon thread; `close` stops it."""

    def __init__(self, sink: Any, host: str, port: int, max_lag: int) -> None:
        registry = CollectorRegistry()
        registry.register(SinkCollector(sink, max_lag))  # type: ignore[arg-type]
        ProcessCollector(registry=registry)
        self.sink = sink
        attributes = {"sink": sink, "registry": registry, "max_lag": max_lag}
        handler = type("Handler", (_Handler,), attributes)
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._serving = threading.Thread(
            target=self.server.serve_forever, name="sink-operations", daemon=True
        )
        self._serving.start()
        sink.end_offsets_every = END_OFFSETS_EVERY  # lag and data age need them from now on

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._serving.join(timeout=5)


def serve(sink: Any, host: str, port: int, max_lag: int) -> OperationsServer | None:
    """Start the endpoints; None if `port` is 0 or cannot be bound (logged: the data path
    matters more than its metrics, and a scrape target that is down raises its own alert)."""
    if port == 0:
        return None
    try:
        server = OperationsServer(sink, host, port, max_lag)
    except OSError as error:
        log.error(
            "event=operations_unavailable host=%s port=%d error=%s",
            host,
            port,
            str(error).replace(" ", "_"),
        )
        return None
    log.info("event=operations_serving host=%s port=%d", host, server.port)
    return server


class _Handler(BaseHTTPRequestHandler):
    sink: Any
    registry: CollectorRegistry
    max_lag: int

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._send(200, content_type, encoder(self.registry))
        elif path == "/healthz":
            self._json(*health(self.sink))
        elif path == "/readyz":
            self._json(*readiness(self.sink, self.max_lag))
        else:
            self._send(404, "text/plain; charset=utf-8", b"/metrics, /healthz or /readyz\n")

    def _json(self, ok: bool, body: dict[str, Any]) -> None:
        self._send(200 if ok else 503, "application/json", json.dumps(body).encode())

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("event=request %s", format % args)
