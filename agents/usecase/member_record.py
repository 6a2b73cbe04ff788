"""A member's table record: the rules state plus the input offsets already applied to it.

The offsets make the live path idempotent under at-least-once delivery: after a crash Kafka
redelivers from the last committed offset, and an input whose offset is at or below the
member's recorded offset for that topic was already applied, so the agent skips it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import msgpack

from agents.rules import MemberState


@dataclass(slots=True)
class MemberRecord:
    state: MemberState | None
    applied: dict[str, int] = field(default_factory=dict)  # input kind -> last applied offset
    next_review: date | None = None  # kept beside the state so the review index needs no decode

    def already_applied(self, input_kind: str, offset: int) -> bool:
        return offset <= self.applied.get(input_kind, -1)

    def mark_applied(self, input_kind: str, offset: int) -> None:
        if offset > self.applied.get(input_kind, -1):
            self.applied[input_kind] = offset

    def to_bytes(self) -> bytes:
        state = self.state.to_bytes() if self.state is not None else None
        review = self.next_review.toordinal() if self.next_review is not None else None
        return msgpack.packb({"s": state, "a": self.applied, "r": review}, use_bin_type=True)

    @classmethod
    def from_bytes(cls, raw: bytes) -> MemberRecord:
        body = msgpack.unpackb(raw, raw=False)
        state = MemberState.from_bytes(body["s"]) if body["s"] is not None else None
        return cls(state=state, applied=dict(body["a"]), next_review=review_date_of(body))


def next_review_of(raw: bytes) -> date | None:
    """The next review date of a stored record, without decoding the rules state."""
    return review_date_of(msgpack.unpackb(raw, raw=False))


def review_date_of(body: dict[str, object]) -> date | None:
    review = body.get("r")
    return date.fromordinal(review) if isinstance(review, int) else None
