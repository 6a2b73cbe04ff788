"""The worker's health lines: how input flows through it, layer by layer.

Every HEALTH_EVERY seconds (agents/loyalty.py) the worker logs two `worker_health` lines:
what its intake took and yielded, what the aligner holds, stale and abandoned input, gap
repairs and skipped runs, the rebalance state, and Faust's and aiokafka's view of each
input partition (fetch position behind the broker, fetched but not delivered, read past the
committed offset with the acknowledgements held). A worker that stops applying shows where:
intake, aligner, Faust's consumer or aiokafka's fetcher. They read private state of Faust
and aiokafka (faust-streaming 0.15, aiokafka 0.14); a failure here is logged, never raised.
"""

from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger("tierflow.agents.loyalty")


def log_health(
    app: Any,
    input_topics: set[str],
    intake: Any,
    aligner: Any,
    book: Any,
    gaps: Any,
    contiguity: Any,
    runs: Any,
    tails: Any,
) -> None:
    from faust.types import TP

    consumer = app.consumer
    try:
        assigned, paused = len(consumer.assignment()), len(consumer._paused_partitions)
        flow, unacked = consumer.flow_active, len(consumer.unacked)
        active = len(consumer._active_partitions or ())
        kafka = consumer._thread._consumer  # aiokafka, in Faust's consumer thread
        reassigning = kafka._subscription.reassignment_in_progress
        fetcher = kafka._fetcher
        buffered = len(fetcher._records)
        calls = consumer._thread.method_queue._queue.qsize()
        fetching = "dead" if fetcher._fetch_task.done() else "alive"
        in_flight, pending = len(fetcher._in_flight), len(fetcher._pending_tasks)
        assignment = kafka._subscription.subscription.assignment
        odd = [
            f"{tp.topic.rsplit('.', 1)[-1]}/{tp.partition}:"
            f"{'paused' if assignment.state_value(tp).paused else ''}"
            f"{'' if assignment.state_value(tp).has_valid_position else 'noposition'}"
            for tp in assignment.tps
            if assignment.state_value(tp).paused
            or not assignment.state_value(tp).has_valid_position
        ]
        # How long Faust's fetch loop has been in one getmany-and-deliver round: about a
        # second when idle, long when a delivery is stuck inside it.
        diag = consumer.diag
        fetching_for = (
            f"{time.monotonic() - diag.last_transition['FETCHING']:.1f}"
            if "FETCHING" in diag.flags
            else "-"
        )
        behind, undelivered, uncommitted = [], [], []
        for tp in assignment.tps:
            if tp.topic not in input_topics:
                continue
            state = assignment.state_value(tp)
            name = f"{tp.topic.rsplit('.', 1)[-1]}/{tp.partition}"
            if state.highwater is not None and state.has_valid_position:
                if state.highwater > state.position:
                    behind.append(f"{name}:{state.position}<{state.highwater}")
                faust_tp = TP(tp.topic, tp.partition)
                read = consumer._read_offset.get(faust_tp)
                if read is not None and state.position > read + 1:
                    undelivered.append(f"{name}:{read}<{state.position}")
                committed = consumer._committed_offset.get(faust_tp)
                acked = consumer._acked.get(faust_tp) or []
                if acked:  # acknowledged, not yet committed (a head gap shows here)
                    gap_count = len(consumer._gap.get(faust_tp) or ())
                    uncommitted.append(
                        f"{name}:committed={committed},read={read},acked={len(acked)}"
                        f"[{min(acked) if acked else '-'}..{max(acked) if acked else '-'}]"
                        f",gaps={gap_count}"
                    )
    except Exception:  # the consumer is not started yet
        return
    log.info(
        "worker_health fetch_behind=%s fetched_undelivered=%s uncommitted=%s "
        "tail_repairs=%d faust_fetching_s=%s",
        ",".join(behind) or "-",
        ",".join(undelivered) or "-",
        ";".join(uncommitted) or "-",
        tails.repairs,
        fetching_for,
    )
    log.info(
        "worker_health taken=%d yields=%d fill_s=%.1f cut_caught_up=%d cut_full=%d "
        "intake_waiting=%s held=%d hold_timeouts=%d stale=%d "
        "abandoned_batches=%d gap_repairs=%d skipped_runs=%d records_read=%d "
        "batches=%d inputs=%d "
        "rebalancing=%s "
        "generation=%s "
        "flow_active=%s flow_control=%s assigned=%d paused=%d active=%d unacked=%d "
        "kafka_reassigning=%s kafka_buffered=%d thread_calls=%d kafka_fetch_task=%s "
        "kafka_in_flight=%d kafka_pending=%d kafka_odd=%s",
        intake.taken,
        intake.yields,
        intake.fill_seconds,
        intake.cut_caught_up,
        intake.cut_full,
        intake.waiting,
        aligner.held(),
        aligner.timed_out,
        book.stale,
        book.abandoned_batches,
        gaps.repairs,
        contiguity.skipped_runs,
        runs.records,
        book.batches,
        book.inputs,
        app.rebalancing,
        app.consumer_generation_id,
        flow,
        app.flow_control.is_active(),
        assigned,
        paused,
        active,
        unacked,
        reassigning,
        buffered,
        calls,
        fetching,
        in_flight,
        pending,
        ",".join(odd) or "-",
    )
