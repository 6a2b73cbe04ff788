"""The event-time aligner: a small input topic never runs ahead of a large one."""

from __future__ import annotations

from agents.alignment import EventTimeAligner

TOPICS = ("receipts", "member-events", "ticks")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _aligner(caught_up: dict[tuple[str, int], int] | None = None) -> EventTimeAligner:
    """`caught_up` maps (topic, partition) to the broker's end offset (absent: an empty
    partition); None: the consumer knows no end offsets yet."""

    def lag(topic: str, partition: int, offset: int) -> int | None:
        if caught_up is None:
            return None
        return caught_up.get((topic, partition), 0) - (offset + 1)

    return EventTimeAligner(TOPICS, lag=lag, idle_seconds=0.5, clock=Clock())


def test_member_events_wait_for_the_receipts_published_before_them() -> None:
    # The whole year of member events arrived in one fetch; receipts are still behind.
    aligner = _aligner({("receipts", 0): 100, ("member-events", 0): 2, ("ticks", 0): 0})
    aligner.add("member-events", 0, 0, 1_000, "redeem@1000")
    aligner.add("member-events", 0, 1, 5_000, "block@5000")
    aligner.add("receipts", 0, 0, 500, "sale@500")
    aligner.add("receipts", 0, 1, 2_000, "sale@2000")
    assert aligner.release() == ["sale@500", "redeem@1000", "sale@2000"]
    assert aligner.held() == 1
    aligner.add("receipts", 0, 99, 6_000, "sale@6000")  # the last receipt the broker has
    assert aligner.release() == ["block@5000", "sale@6000"]
    assert aligner.held() == 0


def test_receipts_wait_for_member_events_published_before_them() -> None:
    aligner = _aligner({("receipts", 0): 2, ("member-events", 0): 10, ("ticks", 0): 0})
    aligner.add("receipts", 0, 0, 100, "sale@100")
    aligner.add("receipts", 0, 1, 300, "sale@300")
    aligner.add("member-events", 0, 0, 50, "enrolled@50")
    # Member events published after 50 may still come: the sales wait for them.
    assert aligner.release() == ["enrolled@50"]
    aligner.add("member-events", 0, 9, 200, "blocked@200")  # the last one the broker has
    assert aligner.release() == ["sale@100", "blocked@200", "sale@300"]


def test_partitions_are_aligned_independently() -> None:
    aligner = _aligner({("receipts", 0): 5, ("receipts", 1): 1, ("member-events", 0): 1})
    aligner.add("member-events", 0, 0, 900, "p0-event@900")
    aligner.add("receipts", 0, 0, 100, "p0-sale@100")
    aligner.add("receipts", 1, 0, 950, "p1-sale@950")
    assert aligner.release() == ["p0-sale@100", "p1-sale@950"]
    assert aligner.held() == 1


def test_an_input_the_consumer_knows_nothing_of_holds_nothing_back() -> None:
    aligner = _aligner()  # no end offsets known: nothing can be waited for with certainty
    aligner.add("member-events", 0, 0, 1_000, "redeem@1000")
    assert aligner.release() == ["redeem@1000"]


def test_an_input_with_an_unknown_end_holds_the_others_only_until_it_falls_silent() -> None:
    aligner = _aligner()
    clock = aligner.clock
    assert isinstance(clock, Clock)
    aligner.add("receipts", 0, 0, 100, "sale@100")
    aligner.add("member-events", 0, 0, 1_000, "redeem@1000")
    assert aligner.release() == ["sale@100"]  # receipts after 100 may be on their way
    clock.now = 0.6
    assert aligner.release() == ["redeem@1000"]


def test_equal_timestamps_keep_topic_order_then_offsets() -> None:
    aligner = _aligner({("receipts", 0): 2, ("member-events", 0): 1, ("ticks", 0): 0})
    aligner.add("member-events", 0, 0, 7, "event@7")
    aligner.add("receipts", 0, 1, 7, "sale-b@7")
    aligner.add("receipts", 0, 0, 7, "sale-a@7")
    assert aligner.release() == ["sale-a@7", "sale-b@7", "event@7"]


def test_the_cap_releases_the_oldest_records_and_counts_them() -> None:
    aligner = _aligner({("receipts", 0): 100, ("member-events", 0): 10})
    aligner.max_held = 2
    aligner.add("receipts", 0, 0, 10, "sale@10")
    for offset, stamp in enumerate((20, 30, 40, 50)):
        aligner.add("member-events", 0, offset, stamp, f"event@{stamp}")
    assert aligner.release() == ["sale@10", "event@20", "event@30"]
    assert aligner.forced == 2
    assert aligner.held() == 2


def test_revoked_partitions_drop_what_they_held() -> None:
    aligner = _aligner({("receipts", 3): 10, ("member-events", 3): 1})
    aligner.add("member-events", 3, 0, 99, "event@99")
    aligner.add("receipts", 3, 0, 1, "sale@1")
    assert aligner.release() == ["sale@1"]
    assert aligner.forget({3}) == ["event@99"]
    assert aligner.held() == 0


def test_a_backlog_holds_back_even_when_its_partition_is_slow_to_deliver() -> None:
    aligner = _aligner({("receipts", 0): 1_000, ("member-events", 0): 1})
    clock = aligner.clock
    assert isinstance(clock, Clock)
    aligner.add("member-events", 0, 0, 5_000, "redeem@5000")
    aligner.add("receipts", 0, 0, 100, "sale@100")
    clock.now = 2.0  # receipts silent a while, but 999 more are on the broker
    assert aligner.release() == ["sale@100"]
    assert aligner.held() == 1
    clock.now = 10.0  # a backlog can keep an input silent for many seconds: still held
    assert aligner.release() == []
    clock.now = aligner.max_silence  # silent past max_silence: the end offset must be stale
    assert aligner.release() == ["redeem@5000"]
    assert aligner.timed_out == 1  # logged once (aligner_hold_timed_out)
    aligner.release()
    assert aligner.timed_out == 1


def test_transaction_markers_do_not_hold_back_a_silent_partition() -> None:
    aligner = _aligner({("receipts", 0): 2, ("member-events", 0): 1})  # offset 1: a marker
    clock = aligner.clock
    assert isinstance(clock, Clock)
    aligner.add("receipts", 0, 0, 100, "sale@100")
    aligner.add("member-events", 0, 0, 5_000, "redeem@5000")
    assert aligner.release() == ["sale@100", "redeem@5000"]


def test_a_backlog_that_never_arrives_holds_back_for_max_silence_only() -> None:
    # The consumer reports 50 receipts on partition 2 that never come (a stale committed
    # offset, say): the member events of the partition wait max_silence, then go.
    aligner = _aligner({("receipts", 2): 50, ("member-events", 2): 1})
    clock = aligner.clock
    assert isinstance(clock, Clock)
    aligner.add("member-events", 2, 0, 700, "event@700")
    assert aligner.release() == []
    clock.now = aligner.max_silence - 0.1
    assert aligner.release() == []
    clock.now = aligner.max_silence
    assert aligner.release() == ["event@700"]


def test_a_rebalance_drops_everything_held_to_be_read_again() -> None:
    aligner = _aligner({("receipts", 0): 10, ("receipts", 5): 10, ("member-events", 5): 1})
    aligner.add("member-events", 5, 0, 99, "p5-event@99")
    aligner.add("member-events", 0, 0, 99, "p0-event@99")
    assert sorted(aligner.forget_all()) == ["p0-event@99", "p5-event@99"]
    assert aligner.held() == 0
    # Nothing of the old assignment is remembered: a new record starts its partition afresh.
    aligner.add("receipts", 5, 9, 10, "p5-sale@10")
    assert aligner.release() == ["p5-sale@10"]
