"""Wire records that are not loyalty-core types: dead letters, review ticks, member snapshots.

The core's own inputs and outputs live in `agents.rules`; these exist only at the shell's
edge (the worker writes dead letters and snapshots; the review timer publishes ticks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from agents.rules.view import MemberView


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An input tierflow could not use, kept byte for byte so it can be fixed and replayed."""

    source_topic: str
    partition: int
    offset: int  # -1 when the input had no offset (a file line, a rule rejection)
    key: bytes | None
    error_code: str
    error: str
    payload: bytes
    failed_at: datetime  # timezone-aware


@dataclass(frozen=True, slots=True)
class ReviewTickMessage:
    """A `loyalty.review-ticks` message: run the reviews due up to `review_date`."""

    review_date: date
    partition: int
    published_at: datetime  # timezone-aware; informational, never read by the rules


@dataclass(frozen=True, slots=True)
class MemberSnapshot:
    """A `loyalty.members` message: the member's standing after a change, for the sink."""

    view: MemberView
    updated_at: datetime  # timezone-aware; event time of the change
