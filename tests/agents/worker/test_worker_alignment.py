"""The aligner releases records by the one order rule as they arrive: a small input topic
never runs ahead of a large one, each topic partition stays in offset order, and no wait
lasts longer than `max_silence`."""

from __future__ import annotations

from dataclasses import dataclass

from agents.usecase import MEMBER_EVENTS, RECEIPTS, REVIEW_TICKS
from agents.worker.alignment import EventTimeAligner

KINDS = {"receipts": RECEIPTS, "member-events": MEMBER_EVENTS, "ticks": REVIEW_TICKS}


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None = b"k"
    value: bytes | None = b"v"


class Broker:
    """The intake as the aligner sees it: each partition's end offset, and what was handed
    over. `ends` None: the consumer knows no end offsets yet."""

    def __init__(self, ends: dict[tuple[str, int], int] | None) -> None:
        self.ends = ends
        self.handed: dict[tuple[str, int], int] = {}
        self.now = 0.0

    def lag(self, topic: str, partition: int) -> int | None:
        if self.ends is None:
            return None
        return self.ends.get((topic, partition), 0) - self.handed.get((topic, partition), 0)

    def clock(self) -> float:
        return self.now


def aligner(ends: dict[tuple[str, int], int] | None = None) -> tuple[EventTimeAligner, Broker]:
    broker = Broker(ends)
    return EventTimeAligner(KINDS, broker.lag, clock=broker.clock), broker


def add(aligner: EventTimeAligner, broker: Broker, topic: str, partition: int, *stamps: int):
    """Hand over the next records of a topic partition, with these timestamps."""
    start = broker.handed.get((topic, partition), 0)
    records = [Record(topic, partition, start + n, stamp) for n, stamp in enumerate(stamps)]
    broker.handed[(topic, partition)] = start + len(stamps)
    aligner.add(records)


def names(records: list) -> list[str]:
    return [f"{r.topic}/{r.partition}#{r.offset}@{r.timestamp}" for r in records]


def test_member_events_wait_for_the_receipts_published_before_them() -> None:
    # The whole year of member events arrived in one fetch; receipts are still behind.
    held, broker = aligner({("receipts", 0): 10, ("member-events", 0): 2})
    add(held, broker, "member-events", 0, 1_000, 5_000)
    add(held, broker, "receipts", 0, 500, 2_000)
    assert names(held.release()) == [
        "receipts/0#0@500",
        "member-events/0#0@1000",
        "receipts/0#1@2000",
    ]
    assert held.held() == 1  # the block at 5,000 waits: receipts are still on the broker
    add(held, broker, "receipts", 0, 3_000, 4_000, 6_000, 7_000, 8_000, 9_000, 9_500, 9_600)
    assert names(held.release())[:4] == [
        "receipts/0#2@3000",
        "receipts/0#3@4000",
        "member-events/0#1@5000",
        "receipts/0#4@6000",
    ]
    assert held.held() == 0


def test_receipts_wait_for_member_events_published_before_them() -> None:
    held, broker = aligner({("receipts", 0): 2, ("member-events", 0): 10})
    add(held, broker, "receipts", 0, 100, 300)
    add(held, broker, "member-events", 0, 50)
    assert names(held.release()) == ["member-events/0#0@50"]
    add(held, broker, "member-events", 0, *range(200, 209))
    assert names(held.release())[:3] == [
        "receipts/0#0@100",
        "member-events/0#1@200",
        "member-events/0#2@201",
    ]


def test_partitions_are_aligned_independently() -> None:
    held, broker = aligner({("receipts", 0): 5, ("receipts", 1): 1, ("member-events", 0): 1})
    add(held, broker, "member-events", 0, 900)
    add(held, broker, "receipts", 0, 100)
    add(held, broker, "receipts", 1, 950)
    assert names(held.release()) == ["receipts/0#0@100", "receipts/1#0@950"]
    assert held.held() == 1


def test_an_input_with_an_unknown_lag_holds_the_others_only_until_it_falls_idle() -> None:
    held, broker = aligner(None)
    add(held, broker, "member-events", 0, 1_000)
    assert names(held.release()) == []  # receipts may be on their way
    broker.now = 0.5
    assert names(held.release()) == ["member-events/0#0@1000"]


def test_equal_timestamps_go_by_topic_rank_then_offset() -> None:
    held, broker = aligner({("receipts", 0): 2, ("member-events", 0): 1})
    add(held, broker, "member-events", 0, 7)
    add(held, broker, "receipts", 0, 7, 7)
    assert names(held.release()) == [
        "receipts/0#0@7",
        "receipts/0#1@7",
        "member-events/0#0@7",
    ]


def test_an_earlier_offset_with_a_later_timestamp_still_comes_first() -> None:
    # Two POS producers with skewed clocks: offset 1 carries an older timestamp than 0. A
    # member record skips inputs at or below the last offset applied, so order by offset.
    held, broker = aligner({("receipts", 0): 2, ("member-events", 0): 5})
    add(held, broker, "member-events", 0, 300)
    add(held, broker, "receipts", 0, 500, 100)
    assert names(held.release()) == ["member-events/0#0@300"]
    add(held, broker, "member-events", 0, 900, 901, 902, 903)
    assert names(held.release())[:3] == [
        "receipts/0#0@500",
        "receipts/0#1@100",
        "member-events/0#1@900",
    ]


def test_a_backlog_holds_back_until_max_silence_then_goes_and_is_counted() -> None:
    held, broker = aligner({("receipts", 0): 1_000, ("member-events", 0): 1})
    add(held, broker, "member-events", 0, 5_000)
    add(held, broker, "receipts", 0, 100)
    assert names(held.release()) == ["receipts/0#0@100"]
    broker.now = 10.0  # a backlog can keep an input silent for many seconds: still held
    assert names(held.release()) == []
    broker.now = held.max_silence  # silent past max_silence: the end offset must be stale
    assert names(held.release()) == ["member-events/0#0@5000"]
    assert held.timed_out == 1
    held.release()
    assert held.timed_out == 1  # counted (and logged) once per silence


def test_transaction_markers_do_not_hold_back_a_silent_partition() -> None:
    held, broker = aligner({("receipts", 0): 2, ("member-events", 0): 1})  # offset 1: a marker
    add(held, broker, "receipts", 0, 100)
    add(held, broker, "member-events", 0, 5_000)
    assert names(held.release()) == ["receipts/0#0@100", "member-events/0#0@5000"]


def test_the_cap_releases_the_first_records_by_the_rule_in_offset_order() -> None:
    held, broker = aligner({("receipts", 0): 100, ("member-events", 0): 10})
    held.max_held = 2
    add(held, broker, "receipts", 0, 10)
    add(held, broker, "member-events", 0, 20, 30, 40, 50)
    assert names(held.release()) == [
        "receipts/0#0@10",
        "member-events/0#0@20",
        "member-events/0#1@30",
    ]
    assert (held.forced, held.held()) == (2, 2)


def test_a_new_epoch_drops_everything_held_to_be_read_again() -> None:
    held, broker = aligner({("receipts", 0): 10, ("receipts", 5): 10, ("member-events", 5): 1})
    add(held, broker, "member-events", 5, 99)
    add(held, broker, "member-events", 0, 99)
    assert held.forget_all() == 2
    assert held.held() == 0
    broker.handed.clear()
    broker.ends = {("receipts", 5): 10}
    add(held, broker, "receipts", 5, *range(10))
    assert len(held.release()) == 10
