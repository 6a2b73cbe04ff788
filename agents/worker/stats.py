"""What the worker counts as it goes: plain numbers, read by the metrics endpoint
(streams/metrics.py) and the worker's stats line. Counting costs an integer addition, or a
bisect for a histogram: nothing else on the hot path."""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from agents.usecase import BatchResult

# Seconds: from a few milliseconds (a batch at low load) to a backfill's hours.
LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
)  # fmt: skip


@dataclass(slots=True)
class Histogram:
    """Cumulative-free bucket counts (the last bucket is +Inf), a sum and a count."""

    bounds: Sequence[float] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        """(upper bound, observations at or below it), +Inf last, as Prometheus wants."""
        out, running = [], 0
        for bound, count in zip((*self.bounds, math.inf), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == math.inf else repr(bound), running))
        return out


@dataclass(slots=True)
class WorkerStats:
    batches: int = 0
    inputs: int = 0
    applied: int = 0
    skipped_repeats: int = 0
    reviews: int = 0
    epochs: int = 0  # assignments seen (rebalances)
    dropped_held: int = 0  # held records dropped at a new epoch (read again)
    apply_seconds: float = 0.0  # the use case: decoding and the rules
    outcomes: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)  # by code
    batch_seconds: Histogram = field(default_factory=Histogram)  # release to step 3 done
    end_to_end_seconds: Histogram = field(default_factory=Histogram)  # receipt time to done
    last_turn: float = field(default_factory=time.monotonic)  # the loop's last batch or pulse
    logged_at: float = field(default_factory=time.monotonic)
    logged_inputs: int = 0

    def count(self, inputs: int, result: BatchResult) -> None:
        self.batches += 1
        self.inputs += inputs
        self.applied += result.applied
        self.skipped_repeats += result.skipped_repeats
        self.reviews += result.reviews
        self.outcomes.update(result.outcomes)
        self.dead_letters.update(result.dead_letters)
