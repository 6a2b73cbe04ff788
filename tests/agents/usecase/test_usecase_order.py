"""The one order rule: per partition, each topic in log order, merged by record timestamp,
ties broken by topic rank (receipts, member events, review ticks)."""

from __future__ import annotations

from agents.usecase import MEMBER_EVENTS, RECEIPTS, REVIEW_TICKS, InputMessage, in_apply_order


def m(kind: str, partition: int, offset: int, stamp: int) -> InputMessage:
    return InputMessage(kind, kind, partition, offset, stamp, b"k", f"{kind}@{stamp}".encode())


SHORT = {RECEIPTS: "R", MEMBER_EVENTS: "E", REVIEW_TICKS: "T"}


def labels(messages: list[InputMessage]) -> list[str]:
    return [f"{SHORT[x.kind]}{x.offset}@{x.timestamp}" for x in messages]


def test_ties_go_receipts_then_member_events_then_ticks() -> None:
    history = [m(REVIEW_TICKS, 0, 0, 5), m(MEMBER_EVENTS, 0, 0, 5), m(RECEIPTS, 0, 0, 5)]
    assert labels(list(in_apply_order(history))) == ["R0@5", "E0@5", "T0@5"]


def test_each_topic_keeps_its_order_even_when_its_timestamps_go_back() -> None:
    history = [
        m(RECEIPTS, 0, 0, 500),
        m(RECEIPTS, 0, 1, 100),  # a POS with a slow clock: offset order wins
        m(MEMBER_EVENTS, 0, 0, 300),
    ]
    assert labels(list(in_apply_order(history))) == ["E0@300", "R0@500", "R1@100"]


def test_partitions_are_merged_on_their_own() -> None:
    history = [m(RECEIPTS, 1, 0, 10), m(MEMBER_EVENTS, 0, 0, 20), m(RECEIPTS, 0, 0, 30)]
    assert labels(list(in_apply_order(history))) == ["E0@20", "R0@30", "R0@10"]
