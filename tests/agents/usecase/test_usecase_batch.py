"""The use case without a broker: refusals become dead letters, a redelivered input is
skipped, a tick reviews only the members the index says are due."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from test_live_worked_examples import PROGRAM, enrolled, qualifying_adjustment, sale

from agents.usecase import (
    MEMBER_EVENTS,
    RECEIPTS,
    REVIEW_TICKS,
    InputMessage,
    MemberBatch,
    MemberRecord,
    ReviewIndex,
    partition_of,
)
from agents.usecase.member_record import next_review_of
from schemas.codec import Codec
from schemas.records import ReviewTickMessage
from streams.program import load_program

TOPICS = {
    "receipts": "pos.receipts",
    "member_events": "loyalty.member-events",
    "review_ticks": "loyalty.review-ticks",
}
CODEC = Codec()


class Table:
    """The member table as the batch sees it: stored records by member id."""

    def __init__(self) -> None:
        self.rows: dict[str, bytes] = {}

    def load(self, member_id: str) -> MemberRecord | None:
        raw = self.rows.get(member_id)
        return MemberRecord.from_bytes(raw) if raw is not None else None

    def run(self, index: ReviewIndex, messages: list[InputMessage], partitions: int = 1) -> Any:
        batch = MemberBatch(load_program(PROGRAM), CODEC, index, self.load, TOPICS, partitions)
        result = batch.apply_all(messages)
        for member_id, (_partition, record) in result.records.items():
            self.rows[member_id] = record.to_bytes()
        return result


STAMP = 1_767_225_600_000  # the record timestamp of these messages, ms


def message(kind: str, offset: int, key: bytes | None, value: bytes | None) -> InputMessage:
    return InputMessage(kind, TOPICS[kind], 0, offset, STAMP, key, value)


def receipt_message(offset: int, receipt: Any, key: bytes | None = None) -> InputMessage:
    return message(RECEIPTS, offset, key or receipt.member_id.encode(), CODEC.encode(receipt))


def codes(result: Any) -> list[str]:
    return [
        CODEC.decode_record(m.value)[1]["error_code"]
        for m in result.outgoing
        if m.topic == "dead_letters"
    ]


def test_refused_inputs_become_dead_letters_and_the_batch_goes_on() -> None:
    good = sale("M1", "R1", 3, 15, "10.00")
    result = Table().run(
        ReviewIndex(),
        [
            message(RECEIPTS, 0, b"M1", b"not avro"),
            receipt_message(1, replace(good, receipt_id="R-EUR", currency="EUR")),
            receipt_message(2, replace(good, receipt_id="R-KEY"), key=b"M2"),
            message(MEMBER_EVENTS, 0, b"M1", None),
            receipt_message(3, good),
        ],
    )
    assert codes(result) == ["bad_framing", "wrong_currency", "key_mismatch", "empty_payload"]
    ledger = [CODEC.decode_record(m.value)[1] for m in result.outgoing if m.topic == "ledger"]
    assert [(e["receipt_id"], e["points"]) for e in ledger] == [("R1", 10)]


def test_an_input_on_another_partition_than_its_members_is_refused() -> None:
    receipt = sale("M1", "R1", 3, 15, "10.00")
    right = partition_of(b"M1", 8)
    wrong = InputMessage(
        RECEIPTS, TOPICS["receipts"], (right + 1) % 8, 0, STAMP, b"M1", CODEC.encode(receipt)
    )
    result = Table().run(ReviewIndex(), [wrong], partitions=8)
    assert codes(result) == ["wrong_partition"] and result.applied == 0


def test_a_redelivered_input_is_skipped_and_emits_nothing() -> None:
    table = Table()
    first = table.run(ReviewIndex(), [receipt_message(7, sale("M1", "R1", 3, 15, "10.00"))])
    again = table.run(ReviewIndex(), [receipt_message(7, sale("M1", "R1", 3, 15, "10.00"))])
    assert first.applied == 1 and first.outgoing
    assert (again.applied, again.skipped_repeats, again.outgoing) == (0, 1, [])


def test_a_tick_reviews_only_members_due_and_twice_changes_nothing() -> None:
    table, index = Table(), ReviewIndex()
    table.run(
        index,
        [
            message(MEMBER_EVENTS, 0, b"M-SILVER", CODEC.encode(enrolled("M-SILVER", 2))),
            message(
                MEMBER_EVENTS,
                1,
                b"M-SILVER",
                CODEC.encode(qualifying_adjustment("M-SILVER", 2, 12_000)),
            ),
            receipt_message(0, sale("M-SMALL", "R1", 3, 15, "10.00")),
        ],
    )
    index.mark_built(0)
    # Each member is due 30 days before its qualifying points (of 2026-03-02 and -03) start
    # leaving the 12-month window: its snapshot then shows them at risk.
    assert index.due_by(0, date(2027, 1, 30)) == []
    assert index.due_by(0, date(2027, 2, 1)) == ["M-SILVER", "M-SMALL"]
    assert index.due_by(0, date(2027, 6, 1)) == ["M-SILVER", "M-SMALL"]
    assert all(next_review_of(table.rows[m]) for m in ("M-SILVER", "M-SMALL"))

    def tick(offset: int) -> InputMessage:
        return message(
            REVIEW_TICKS, offset, None, CODEC.encode(ReviewTickMessage(date(2027, 6, 1), 0, at()))
        )

    first = table.run(index, [tick(0)])
    again = table.run(index, [tick(1)])
    downgrades = [
        CODEC.decode_record(m.value)[1]["to_tier"]
        for m in first.outgoing
        if m.topic == "tier_changes"
    ]
    assert first.reviews == 2 and downgrades == ["Member"]
    assert (again.reviews, again.outgoing) == (0, [])


def at() -> Any:
    from datetime import UTC, datetime

    return datetime(2027, 6, 1, 5, tzinfo=UTC)


def test_dead_letters_carry_the_inputs_event_time_else_the_record_timestamp() -> None:
    from datetime import UTC, datetime

    good = sale("M1", "R1", 3, 15, "10.00")
    result = Table().run(
        ReviewIndex(),
        [
            message(RECEIPTS, 0, b"M1", b"not avro"),
            receipt_message(1, good, key=b"M2"),
        ],
    )
    letters = [
        CODEC.decode_record(m.value)[1] for m in result.outgoing if m.topic == "dead_letters"
    ]
    assert [letter["error_code"] for letter in letters] == ["bad_framing", "key_mismatch"]
    assert letters[0]["failed_at"] == datetime.fromtimestamp(STAMP / 1000, UTC)
    assert letters[1]["failed_at"] == good.occurred_at
    assert letters[1]["payload"] == CODEC.encode(good)  # the original bytes


def test_a_decoded_file_input_that_is_refused_carries_its_encoded_bytes() -> None:
    first = sale("M1", "R1", 3, 15, "10.00")
    conflicting = replace(first, store_id="S999")  # the same id, other content
    file_input = InputMessage(
        RECEIPTS, TOPICS["receipts"], 0, 1, STAMP, b"M1", None, decoded=conflicting
    )
    result = Table().run(ReviewIndex(), [receipt_message(0, first), file_input])
    letters = [
        CODEC.decode_record(m.value)[1] for m in result.outgoing if m.topic == "dead_letters"
    ]
    assert len(letters) == 1
    assert letters[0]["payload"] == CODEC.encode(conflicting)


def test_one_snapshot_per_changed_member_per_batch_with_its_last_state() -> None:
    result = Table().run(
        ReviewIndex(),
        [
            receipt_message(0, sale("M1", "R1", 3, 15, "10.00")),
            receipt_message(1, sale("M1", "R2", 3, 16, "5.00")),
            receipt_message(2, sale("M2", "R3", 3, 16, "7.00")),
        ],
    )
    snapshots = [CODEC.decode_record(m.value)[1] for m in result.outgoing if m.topic == "members"]
    assert sorted((s["member_id"], s["balance"]) for s in snapshots) == [("M1", 15), ("M2", 7)]


def test_each_input_is_counted_by_its_outcome() -> None:
    table = Table()
    first = sale("M1", "R1", 3, 15, "10.00")
    result = table.run(
        ReviewIndex(),
        [
            message(RECEIPTS, 0, b"M1", b"not avro"),
            receipt_message(1, first),
            receipt_message(2, replace(first, store_id="S999")),  # same id, other content
            message(MEMBER_EVENTS, 0, b"M1", CODEC.encode(enrolled("M1", 2))),
        ],
    )
    again = table.run(ReviewIndex(), [receipt_message(1, first)])
    assert result.outcomes == {
        (RECEIPTS, "dead_lettered", "bad_framing"): 1,
        (RECEIPTS, "credited", ""): 1,
        (RECEIPTS, "dead_lettered", "conflicting_duplicate"): 1,
        (MEMBER_EVENTS, "applied", ""): 1,
    }
    assert again.outcomes == {(RECEIPTS, "repeat", ""): 1}
