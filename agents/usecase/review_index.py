"""Which members of a partition are due for their daily review: local date -> member ids.

Kept in memory by the worker, updated after every state change and rebuilt from the member
table the first time a partition sees a tick after an assignment, so a tick reviews only the
members it concerns instead of scanning them all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date


class ReviewIndex:
    def __init__(self) -> None:
        self._due: dict[int, dict[str, date]] = defaultdict(dict)
        self._by_date: dict[int, dict[date, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._built: set[int] = set()

    def is_built(self, partition: int) -> bool:
        return partition in self._built

    def mark_built(self, partition: int) -> None:
        self._built.add(partition)

    def built_partitions(self) -> set[int]:
        return set(self._built)

    def set_due(self, partition: int, member_id: str, when: date | None) -> None:
        """Record a member's next review date (None: nothing will ever be due)."""
        due, by_date = self._due[partition], self._by_date[partition]
        previous = due.pop(member_id, None)
        if previous is not None:
            members = by_date[previous]
            members.discard(member_id)
            if not members:
                del by_date[previous]
        if when is not None:
            due[member_id] = when
            by_date[when].add(member_id)

    def due_by(self, partition: int, review_date: date) -> list[str]:
        """Members of the partition with a review due on or before `review_date`, sorted."""
        by_date = self._by_date[partition]
        members: set[str] = set()
        for when in [d for d in by_date if d <= review_date]:
            members |= by_date[when]
        return sorted(members)

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop partitions this worker no longer owns (or must rebuild after recovery)."""
        for partition in partitions:
            self._due.pop(partition, None)
            self._by_date.pop(partition, None)
            self._built.discard(partition)

    def __len__(self) -> int:
        return sum(len(due) for due in self._due.values())
