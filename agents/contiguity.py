"""Each input partition is applied as a contiguous run of offsets, or read again.

A member record skips any input at or below the last offset it applied (the worker's
idempotence), so an input that reaches the agent after a later one of the same partition
is never applied. Kafka delivers a partition in order, but around rebalances Faust can drop
a run of records it already fetched (its stream skips messages of an ended consumer
generation, and the fetch position has moved past them) and go on delivering the records
after it; seen as ledger entries whose balances missed a run of receipts.

`ContiguityGuard` expects, per topic partition, the next offset after the last one it let
through (or the committed offset, right after an assignment). A record further on means
records were skipped: the agent seeks the partition back to the expected offset and drops
the partition's records until the re-read arrives (any record at or below the one that
showed the gap; offsets with no record make a real gap that the re-read shows again, and it
is let through). Gaps of up to `MARKER_SLACK` offsets (transaction markers) pass at once. A
record below the expected offset is a repeat of one already let through, and passes (the
member record skips it).

The seek needs the partition's read-offset gate open (agents/intake.py,
`GatedReadOffsets`): Faust's fetcher drops records below the last offset it delivered, and
it goes on delivering the batch it holds after a seek, so without the gate the re-read
records were all dropped and the partition stopped.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from enum import Enum

# A transaction's commit marker takes an offset and delivers no record, so a producer that
# writes in transactions leaves one-offset gaps; those pass without a seek. Faust's drops
# are runs of a fetch (tens to hundreds of records in the runs seen).
MARKER_SLACK = 2


class Verdict(Enum):
    APPLY = "apply"  # in order (or a repeat): hand it to the aligner
    SEEK = "seek"  # records were skipped: seek back to `expected`, drop this one
    DROP = "drop"  # waiting for the re-read after a seek


@dataclass(slots=True)
class ContiguityGuard:
    _expected: dict[Hashable, int] = field(default_factory=dict)
    _reread_below: dict[Hashable, int] = field(default_factory=dict)  # tp -> gap offset
    seeks: int = 0
    dropped: int = 0

    def check(self, tp: Hashable, offset: int, committed: int | None) -> Verdict:
        """`committed`: the partition's committed offset, used while nothing of it has
        been let through since the assignment (None: unknown, anything goes)."""
        gap_at = self._reread_below.get(tp)
        if gap_at is not None:
            if offset > gap_at:
                self.dropped += 1
                return Verdict.DROP
            del self._reread_below[tp]  # the re-read has arrived
            self._expected[tp] = offset + 1
            return Verdict.APPLY
        expected = self._expected.get(tp, committed)
        if expected is None or offset <= expected + MARKER_SLACK:
            self._expected[tp] = max(offset + 1, self._expected.get(tp, 0))
            return Verdict.APPLY
        self._expected[tp] = expected
        self._reread_below[tp] = offset
        self.seeks += 1
        self.dropped += 1
        return Verdict.SEEK

    def expected(self, tp: Hashable) -> int:
        return self._expected[tp]

    def reset(self) -> None:
        """A new assignment: positions restart from the committed offsets."""
        self._expected.clear()
        self._reread_below.clear()
