"""Input offsets that were read but never acknowledged: found, and read again.

Faust commits an input partition's offset only up to its first unacknowledged offset
(`Consumer._new_offset`). Records of one topic partition reach the agent in offset order,
and the aligner releases each partition's records in offset order too, so once a later
offset is acknowledged every earlier one must have been acknowledged as well, or be in the
batch being applied (acknowledged together when it commits). An earlier offset still
missing after `patience` seconds, with the committed offset not moving, was lost on its way
(seen after rebalances: acknowledgements dropped by Faust's consumer state, or events
dropped as stale with no seek back after them), and the partition's committed offset can
never pass it again: the worker's lag stays above zero for good.

The repair is to seek the partition back to its committed offset. That is safe because
the worker is idempotent per member (a member record carries the offsets it applied): the
records read again are skipped where applied and applied where not, and their
acknowledgements close the gap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field


@dataclass(slots=True)
class GapWatch:
    """Decides, per topic partition, when a gap at the head of the acknowledgements is lost."""

    patience: float = 15.0
    clock: Callable[[], float] = time.monotonic
    _since: dict[Hashable, tuple[int, float]] = field(default_factory=dict)
    repairs: int = 0

    def lost(self, tp: Hashable, committed: int | None, acked: Iterable[int]) -> bool:
        """True when offsets from `committed` up to the lowest acknowledged one have been
        missing for `patience` seconds while `committed` stayed where it is."""
        lowest = min(acked, default=None)
        if committed is None or lowest is None or lowest <= committed:
            self._since.pop(tp, None)
            return False
        now = self.clock()
        seen = self._since.get(tp)
        if seen is None or seen[0] != committed:
            self._since[tp] = (committed, now)
            return False
        return now - seen[1] >= self.patience

    def repaired(self, tp: Hashable) -> None:
        self.repairs += 1
        self._since.pop(tp, None)
