"""The worker's operations endpoints on its web port: `/metrics` (Prometheus text format, by
prometheus_client), `/healthz` (alive, loops turning) and `/readyz` (partitions assigned,
tables recovered, lag below a threshold). docs/operations.md documents each family and the
exact conditions.

The worker counts in plain numbers (agents/worker/stats.py); this collector reads them at
each scrape, so metrics cost the hot path nothing but the counting.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.process_collector import ProcessCollector


def _histogram(name: str, documentation: str, histogram: Any) -> HistogramMetricFamily:
    return HistogramMetricFamily(
        name, documentation, buckets=histogram.cumulative(), sum_value=histogram.total
    )


class WorkerCollector:
    """Every `tierflow_*` family of one worker, read from its parts at scrape time."""

    def __init__(self, live: Any) -> None:
        self.live = live  # streams.app.LiveWorker

    def collect(self) -> Iterator[Metric]:
        live = self.live
        worker, checkpoint, intake = live.worker, live.checkpoint, live.intake
        stats, names = worker.stats, live.settings.topic
        inputs = CounterMetricFamily(
            "tierflow_inputs",
            "Input records by topic and outcome: credited or applied, refused (reason on the "
            "ledger), dead_lettered (reason: the error code), repeat (already applied)",
            labels=["topic", "outcome", "reason"],
        )
        for (kind, outcome, reason), count in sorted(stats.outcomes.items()):
            inputs.add_metric([names(kind), outcome, reason], count)
        yield inputs
        letters = CounterMetricFamily(
            "tierflow_dead_letters", "Dead letters sent, by error code", labels=["code"]
        )
        for code, count in sorted(stats.dead_letters.items()):
            letters.add_metric([code], count)
        yield letters
        yield self._lag()
        yield _histogram(
            "tierflow_batch_seconds",
            "A batch from its release by the aligner to its member records written",
            stats.batch_seconds,
        )
        yield _histogram(
            "tierflow_end_to_end_seconds",
            "A receipt's record timestamp (its business time) to its batch written",
            stats.end_to_end_seconds,
        )
        yield from self._counters(stats, checkpoint, intake.status())
        yield from self._gauges(worker, checkpoint)

    def _lag(self) -> GaugeMetricFamily:
        lag = GaugeMetricFamily(
            "tierflow_consumer_lag",
            "Input records on the broker past the last one handed to the worker",
            labels=["topic", "partition"],
        )
        for topic, partition in sorted(self.live.intake.assigned):
            behind = self.live.intake.lag(topic, partition)
            if behind is not None:
                lag.add_metric([topic, str(partition)], behind)
        return lag

    def _counters(self, stats: Any, checkpoint: Any, intake: dict[str, Any]) -> Iterator[Metric]:
        aligner, recovery = self.live.worker.aligner, self.live.io.recovery
        for name, documentation, value in (
            ("tierflow_batches", "Batches committed (steps 1-3)", checkpoint.batches),
            ("tierflow_batches_abandoned", "Batches a rebalance overtook", checkpoint.abandoned),
            ("tierflow_input_commits", "Input offset commits", checkpoint.commits),
            ("tierflow_input_commit_failures", "Input commits missed", checkpoint.failed_commits),
            ("tierflow_rebalances", "New assignments (epochs) seen", max(stats.epochs - 1, 0)),
            ("tierflow_input_jumps", "Offset jumps read from the broker", intake["jumps"]),
            (
                "tierflow_input_records_read_back",
                "Records the jump reads found (lost on their way to the worker)",
                intake["refilled"],
            ),
            ("tierflow_aligner_hold_timeouts", "Holds ended by max_silence", aligner.timed_out),
            ("tierflow_aligner_forced", "Records released by the hold cap", aligner.forced),
            (
                "tierflow_table_records_recovered",
                "Changelog records applied to the member table by recovery",
                recovery.applied,
            ),
        ):
            yield CounterMetricFamily(name, documentation, value=value)

    def _gauges(self, worker: Any, checkpoint: Any) -> Iterator[Metric]:
        live = self.live
        for name, documentation, value in (
            ("tierflow_aligner_held_records", "Records the aligner holds", worker.aligner.held()),
            (
                "tierflow_assigned_partitions",
                "Input partitions assigned and open here",
                len(live.intake.assigned),
            ),
            (
                "tierflow_table_recovery_remaining_records",
                "Changelog records the member table still has to recover",
                live.recovery_remaining(),
            ),
            (
                "tierflow_last_commit_timestamp_seconds",
                "When input offsets were last committed (Unix time; 0: never)",
                live.last_commit_unix(),
            ),
            ("tierflow_ready", "1 when /readyz answers 200", 1 if live.readiness()[0] else 0),
        ):
            yield GaugeMetricFamily(name, documentation, value=value)


def registry_for(live: Any) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(WorkerCollector(live))  # type: ignore[arg-type]
    ProcessCollector(registry=registry)
    return registry


def register_operations(app: Any, live: Any) -> None:
    """`/metrics`, `/healthz` and `/readyz` on the worker's web port."""
    registry = registry_for(live)

    @app.page("/metrics")
    async def metrics(view: Any, request: Any) -> Any:
        # The header as a whole: aiohttp refuses a charset in its content_type argument.
        return view.bytes(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/healthz")
    async def healthz(view: Any, request: Any) -> Any:
        alive, body = live.health()
        return view.json(body, status=200 if alive else 503)

    @app.page("/readyz")
    async def readyz(view: Any, request: Any) -> Any:
        ready, body = live.readiness()
        return view.json(body, status=200 if ready else 503)
