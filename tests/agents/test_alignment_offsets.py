"""The aligner never releases a topic partition's records out of offset order: a member
record skips any input at or below the last offset applied, so a reordering would lose one."""

from __future__ import annotations

from agents.alignment import EventTimeAligner

TOPICS = ("receipts", "member-events", "ticks")


def aligner(end_offsets: dict[tuple[str, int], int], max_held: int = 200_000) -> EventTimeAligner:
    def lag(topic: str, partition: int, offset: int) -> int | None:
        return end_offsets.get((topic, partition), 0) - (offset + 1)

    return EventTimeAligner(TOPICS, lag=lag, max_held=max_held, clock=lambda: 0.0)


def test_an_earlier_offset_with_a_later_timestamp_still_comes_first() -> None:
    # Two POS producers with skewed clocks: offset 1 carries an older timestamp than 0.
    held = aligner({("receipts", 0): 2, ("member-events", 0): 5})
    held.add("member-events", 0, 0, 300, "event@300")
    held.add("receipts", 0, 0, 500, "sale0@500")
    held.add("receipts", 0, 1, 100, "sale1@100")
    # Member events are behind (offset 0 of 5): only what they have caught up with goes out,
    # and receipt offset 1 must wait for offset 0 although its timestamp is lower.
    assert held.release() == ["event@300"]
    held.add("member-events", 0, 4, 900, "event@900")
    assert held.release() == ["sale0@500", "sale1@100", "event@900"]


def test_the_cap_gives_up_each_topic_partition_in_offset_order() -> None:
    held = aligner({("receipts", 0): 10, ("member-events", 0): 10}, max_held=1)
    held.add("receipts", 0, 0, 500, "sale0@500")
    held.add("receipts", 0, 1, 100, "sale1@100")
    assert held.release() == ["sale0@500"]
    assert held.forced == 1
