"""Input records a worker never received: counted per input partition, and logged.

Kafka delivers a partition in order. Around rebalances Faust can drop a run of records it
had already fetched (its stream skips messages of an ended consumer generation, and the
fetch position has moved past them) and go on delivering the records after it. A member
record skips any input at or below the last offset it applied, so a run delivered late
would be skipped for the members it touches. `ContiguityWatch` expects, per topic
partition, the offset after the last one delivered (the committed offset right after an
assignment) and reports the offsets a record jumped over.

A jump is not always a loss: a transaction's commit marker takes an offset and delivers no
record. But a jump of one offset is not always a marker either: Faust drops single records
around rebalances too (seen: one receipt that never came, 20 ms after a recovery ended; the
old rule "a jump of up to two offsets is markers" let the commit pass it, and the member's
balance missed it for good). So every jump is reported; the agent reads the offsets it
reports straight from the broker (agents/refill.py), applies the records among them before
the record that jumped, and names the rest as holding no record.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field


@dataclass(slots=True)
class ContiguityWatch:
    _expected: dict[Hashable, int] = field(default_factory=dict)
    skipped_runs: int = 0  # jumps seen (transaction markers among them)
    skipped_offsets: int = 0

    def observe(self, tp: Hashable, offset: int, committed: int | None) -> range:
        """The offsets before `offset` that were never delivered (empty: in order, or a
        repeat). `committed` is used while nothing of `tp` was delivered since the
        assignment (None: unknown, nothing is reported)."""
        expected = self._expected.get(tp, committed)
        self._expected[tp] = max(offset + 1, self._expected.get(tp, 0))
        if expected is None or offset <= expected:
            return range(0)
        self.skipped_runs += 1
        self.skipped_offsets += offset - expected
        return range(expected, offset)

    def expected(self, tp: Hashable) -> int | None:
        """The offset after the last one delivered of `tp` (None: none since the assignment)."""
        return self._expected.get(tp)

    def follows(self, tp: Hashable) -> bool:
        """Whether a record of `tp` was delivered since the assignment."""
        return tp in self._expected

    def rewind(self, tp: Hashable, offset: int) -> None:
        """The partition is read again from `offset` (a seek)."""
        self._expected[tp] = offset

    def reset(self) -> None:
        """A new assignment: positions restart from the committed offsets."""
        self._expected.clear()
