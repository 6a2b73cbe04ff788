"""Input partitions Faust stopped fetching for and never took back: found, and resumed.

Faust stops asking aiokafka for a partition's records while the stream's buffer is full
(`Consumer.on_buffer_full` drops it from the active partitions) and takes it back when a
read drains the buffer (`on_buffer_drop`, a callback the queue keeps until then). Seen
here after a rebalance (the CI run of 2026-11-26 03:23, `tests/reliability/
test_rebalance.py`): a worker whose fetcher held 226 records of one receipts partition
(aiokafka's position 2262, Faust's read offset 2036) delivered none of them for five
minutes while its agent waited for input; lag stayed above zero for good.

A partition is dormant when it is assigned here, not paused, missing from Faust's active
partitions, and Faust's read offset has not moved for `patience` seconds while aiokafka
holds records past it. The repair is Faust's own `on_buffer_drop` (or putting the
partition back among the active ones): fetching resumes from where it stopped, so nothing
is read twice or skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field


@dataclass(slots=True)
class DormantWatch:
    """Decides, per topic partition, when Faust has stopped delivering it for good."""

    patience: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _since: dict[Hashable, tuple[int | None, float]] = field(default_factory=dict)
    resumed: int = 0

    def dormant(
        self, tp: Hashable, inactive: bool, read_offset: int | None, fetched_to: int | None
    ) -> bool:
        """True when `tp` has been inactive with records fetched past `read_offset` (up to
        `fetched_to`, aiokafka's position) and `read_offset` unmoved for `patience` s."""
        waiting = fetched_to is not None and (read_offset is None or fetched_to > read_offset + 1)
        if not inactive or not waiting:
            self._since.pop(tp, None)
            return False
        now = self.clock()
        seen = self._since.get(tp)
        if seen is None or seen[0] != read_offset:
            self._since[tp] = (read_offset, now)
            return False
        return now - seen[1] >= self.patience

    def resume(self, tp: Hashable) -> None:
        self.resumed += 1
        self._since.pop(tp, None)


def resume_partition(consumer: object, tp: object) -> None:
    """Put a dormant partition back among Faust's active ones, the way Faust does when its
    stream buffer drains."""
    if tp in consumer._buffered_partitions:  # type: ignore[attr-defined]
        consumer.on_buffer_drop(tp)  # type: ignore[attr-defined]
    else:
        consumer._get_active_partitions().add(tp)  # type: ignore[attr-defined]


def fetch_position(consumer: object, tp: object) -> int | None:
    """aiokafka's fetch position of `tp` in Faust's consumer thread (how far it has
    fetched), or None when it is not known (not assigned, no position yet)."""
    try:
        kafka = consumer._thread._consumer  # type: ignore[attr-defined]
        assignment = kafka._subscription.subscription.assignment
        state = assignment.state_value(tp)
        return int(state.position) if state is not None and state.has_valid_position else None
    except Exception:  # the consumer is not started, or a rebalance is under way
        return None
