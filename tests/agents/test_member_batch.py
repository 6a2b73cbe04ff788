"""The member agent's batch logic without a broker: refusals become dead letters, a
redelivered input is skipped, a tick reviews only the members the index says are due."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date
from typing import Any

from test_live_worked_examples import PROGRAM, enrolled, qualifying_adjustment, sale

from agents.loyalty import apply_with_retry
from agents.member_batch import (
    MEMBER_EVENTS,
    RECEIPTS,
    REVIEW_TICKS,
    InputMessage,
    MemberBatch,
    partition_of,
)
from agents.member_record import MemberRecord, next_review_of
from agents.review_index import ReviewIndex
from schemas.codec import Codec
from schemas.errors import CodecError
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


def message(kind: str, offset: int, key: bytes | None, value: bytes | None) -> InputMessage:
    return InputMessage(kind, TOPICS[kind], 0, offset, key, value)


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
        RECEIPTS, TOPICS["receipts"], (right + 1) % 8, 0, b"M1", CODEC.encode(receipt)
    )
    result = Table().run(ReviewIndex(), [wrong], partitions=8)
    assert codes(result) == ["wrong_partition"] and result.applied == 0


class RegistryDownOnce:
    """The codec, but the schema registry is unreachable for the first decode."""

    def __init__(self) -> None:
        self.down = True

    def __getattr__(self, name: str) -> Any:
        return getattr(CODEC, name)

    def decode_receipt(self, data: bytes) -> Any:
        if self.down:
            self.down = False
            raise CodecError("registry_unavailable", "could not fetch schema id 7: timeout")
        return CODEC.decode_receipt(data)


def test_an_unreachable_registry_retries_the_batch_instead_of_dead_lettering() -> None:
    codec, table = RegistryDownOnce(), Table()
    message_ = receipt_message(0, sale("M1", "R1", 3, 15, "10.00"))

    def new_batch() -> MemberBatch:
        return MemberBatch(load_program(PROGRAM), codec, ReviewIndex(), table.load, TOPICS, 1)

    result = asyncio.run(apply_with_retry(new_batch, [message_], first_wait=0.01))
    assert codes(result) == [] and result.applied == 1 and not codec.down


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
