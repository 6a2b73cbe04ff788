"""The tail of an input partition that Faust took from aiokafka and never delivered.

Faust's fetch loop drops records it has already taken from aiokafka when flow control is off
or the partition left its active set (faust/transport/consumer.py, `getmany`), and records
below its read offset (`_drain_messages`). aiokafka's fetch position has then moved past
them, so they never come again. When records follow them, the jump is seen and the run is
read from the broker (agents/contiguity.py, agents/refill.py). When nothing follows (the
end of a stream, or a quiet partition), nothing jumps: the worker sits idle with the run
unapplied and its lag above zero for good. Seen in the CI run of 2026-11-26 03:23 and in a
loop after it (`tests/reliability/test_rebalance.py`, the worker left alone after the other
one stopped): aiokafka's position 2,262, Faust's read offset 2,036 and the agent's next
expected offset 2,037 on one receipts partition, unchanged for five minutes.

A partition's tail is dropped when aiokafka has handed Faust records past the offset the
agent expects next and neither moved for `patience` seconds (whatever Faust's read offset
says: records Faust counts as delivered were lost on their way to the agent too). The
repair is the one for skipped runs: read the run from the broker and apply it
(agents/loyalty.py, `read_dropped_tail`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field


@dataclass(slots=True)
class TailWatch:
    """Decides, per topic partition, when a run at its tail was dropped."""

    patience: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _since: dict[Hashable, tuple[int, int, float]] = field(default_factory=dict)
    repairs: int = 0  # dropped tails that held records

    def dropped(self, tp: Hashable, expected: int | None, fetched_to: int | None) -> range:
        """The offsets from `expected` (the agent's next) up to `fetched_to` (aiokafka's
        position) once neither has moved for `patience` seconds; empty otherwise.

        Faust's read offset is no guide: it was seen past the agent's for good (2,544
        against 2,140 on one partition, five minutes), the records taken from aiokafka and
        handed to the stream, which never gave them to the agent. Records truly on their
        way reach the agent within a batch or two; a false alarm costs a read, and the
        records Faust then delivers after all are repeats, which the member records skip.
        A run of one offset may be a transaction's commit marker: it is read like any
        other, once (the agent then expects the offset after it)."""
        if expected is None or fetched_to is None or fetched_to <= expected:
            self._since.pop(tp, None)
            return range(0)
        now = self.clock()
        seen = self._since.get(tp)
        if seen is None or seen[:2] != (expected, fetched_to):
            self._since[tp] = (expected, fetched_to, now)
            return range(0)
        if now - seen[2] < self.patience:
            return range(0)
        return range(expected, fetched_to)

    def repaired(self, tp: Hashable, records: int) -> None:
        """The run was read; `records` of its offsets held a record (the rest: markers)."""
        self.repairs += records > 0
        self._since.pop(tp, None)


def fetch_position(consumer: object, tp: object) -> int | None:
    """aiokafka's fetch position of `tp` in Faust's consumer thread (every offset below it
    was handed to Faust), or None when it is not known (not assigned, no position yet)."""
    try:
        kafka = consumer._thread._consumer  # type: ignore[attr-defined]
        assignment = kafka._subscription.subscription.assignment
        state = assignment.state_value(tp)
        return int(state.position) if state is not None and state.has_valid_position else None
    except Exception:  # the consumer is not started, or a rebalance is under way
        return None
