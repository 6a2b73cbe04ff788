"""One batch of input messages applied to members: decode, check, call the rules, collect.

No Kafka here: the agent (agents/loyalty.py) hands in raw messages and a way to read stored
member records; this module returns the messages to send and the records to write, and
`agents/checkpoint.py` commits them. Per-member order is the order of the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from aiokafka.partitioner import murmur2

from agents.member_record import MemberRecord
from agents.review_index import ReviewIndex
from agents.rules import apply, next_review_date
from agents.rules.events import MemberEvent, Receipt, ReviewTick
from agents.rules.outputs import Outputs, Rejection
from agents.rules.program import Program
from schemas.errors import CodecError
from schemas.records import DeadLetter

RECEIPTS, MEMBER_EVENTS, REVIEW_TICKS = "receipts", "member_events", "review_ticks"


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default (murmur2) partitioner gives a key."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


@dataclass(frozen=True, slots=True)
class InputMessage:
    kind: str  # RECEIPTS | MEMBER_EVENTS | REVIEW_TICKS
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    topic: str  # contract name: "ledger", "tier_changes", ...
    key: bytes | None
    value: bytes
    partition: int | None = None  # the member's partition, for topics co-partitioned with it


@dataclass(slots=True)
class BatchResult:
    outgoing: list[OutgoingMessage] = field(default_factory=list)
    records: dict[str, tuple[int, MemberRecord]] = field(default_factory=dict)
    changed_at: dict[str, datetime] = field(default_factory=dict)  # event time of last change
    applied: int = 0
    skipped_repeats: int = 0
    dead_letters: int = 0
    reviews: int = 0


class Refused(Exception):
    """An input the shell refuses before the rules see it; `code` lands in the dead letter."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class MemberBatch:
    """Applies a batch of inputs to the members they concern, in the batch's order."""

    def __init__(
        self,
        program: Program,
        codec: Any,
        index: ReviewIndex,
        load: Callable[[str], MemberRecord | None],
        topic_names: dict[str, str],
        partitions: int,
    ) -> None:
        self.partitions = partitions
        self.program = program
        self.codec = codec
        self.index = index
        self.load = load
        self.topic_names = topic_names
        self.result = BatchResult()

    def apply_all(self, messages: list[InputMessage]) -> BatchResult:
        """Apply the batch; raises a retriable `CodecError` (`registry_unavailable`): the
        caller retries the whole batch (nothing is written before its checkpoint)."""
        for message in messages:
            try:
                self._apply_message(message)
            except CodecError as refused:
                if refused.retriable:  # the registry is down; the message may be fine
                    raise
                self._dead_letter(message, refused.code, refused.message)
            except Refused as refused:
                self._dead_letter(message, refused.code, refused.message)
            except Exception as bug:  # a rules bug must not stop the partition
                self._dead_letter(message, "rules_error", f"{type(bug).__name__}: {bug}")
        return self.result

    def _apply_message(self, message: InputMessage) -> None:
        if message.value is None:
            raise Refused("empty_payload", "a message with no value (tombstone) is not an input")
        if message.kind == REVIEW_TICKS:
            tick = self.codec.decode_review_tick(message.value)
            self._review_partition(message, tick.review_date)
            return
        event: Receipt | MemberEvent
        if message.kind == RECEIPTS:
            event = self.codec.decode_receipt(message.value)
            if event.currency != self.program.currency:
                raise Refused(
                    "wrong_currency",
                    f"receipt in {event.currency}, the program earns in "
                    f"{self.program.currency}; convert at the POS or fix the program",
                )
        else:
            event = self.codec.decode_member_event(message.value)
        key = message.key.decode("utf-8", "replace") if message.key is not None else None
        if key != event.member_id or message.key is None:
            raise Refused(
                "key_mismatch",
                f"message key {key!r} is not the member id {event.member_id!r}; "
                "produce with key = member_id so the member's inputs share a partition",
            )
        expected = partition_of(message.key, self.partitions)
        if message.partition != expected:
            # The member's state lives on the murmur2 partition of its id; an input on
            # another partition may be owned by another worker than that state.
            raise Refused(
                "wrong_partition",
                f"member {event.member_id!r} arrived on partition {message.partition}, "
                f"its partition is {expected}; produce with the murmur2 partitioner "
                "(confluent-kafka: partitioner=murmur2_random)",
            )
        self._apply_to_member(message, event.member_id, event)

    def _review_partition(self, message: InputMessage, review_date: Any) -> None:
        if not self.index.is_built(message.partition):
            raise RuntimeError("review index not built for this partition")
        tick = ReviewTick(review_date)
        for member_id in self.index.due_by(message.partition, review_date):
            self.result.reviews += 1
            self._apply_to_member(message, member_id, tick)

    def _record(self, member_id: str, partition: int) -> MemberRecord:
        held = self.result.records.get(member_id)
        if held is not None:
            return held[1]
        record = self.load(member_id) or MemberRecord(state=None)
        self.result.records[member_id] = (partition, record)
        return record

    def _apply_to_member(
        self, message: InputMessage, member_id: str, event: Receipt | MemberEvent | ReviewTick
    ) -> None:
        record = self._record(member_id, message.partition)
        if record.already_applied(message.kind, message.offset):
            self.result.skipped_repeats += 1
            return
        state, outputs = apply(record.state, event, self.program)
        record.state = state
        record.mark_applied(message.kind, message.offset)
        record.next_review = next_review_date(state, self.program)
        self.index.set_due(message.partition, member_id, record.next_review)
        self.result.applied += 1
        self.result.changed_at[member_id] = self._event_time(event)
        self._collect(message, event, member_id, outputs)

    def _event_time(self, event: Receipt | MemberEvent | ReviewTick) -> datetime:
        if isinstance(event, ReviewTick):
            midnight = datetime.combine(event.review_date, time(), tzinfo=self.program.zone)
            return midnight.astimezone(UTC)
        return event.occurred_at

    def _collect(
        self,
        message: InputMessage,
        event: Receipt | MemberEvent | ReviewTick,
        member_id: str,
        outputs: Outputs,
    ) -> None:
        key, partition = member_id.encode(), message.partition
        encode = self.codec.encode
        out = self.result.outgoing
        out.extend(
            OutgoingMessage("ledger", key, encode(entry), partition) for entry in outputs.ledger
        )
        out.extend(
            OutgoingMessage("tier_changes", key, encode(change), partition)
            for change in outputs.tier_changes
        )
        out.extend(
            OutgoingMessage("notifications", key, encode(note), partition)
            for note in outputs.notifications
        )
        for rejection in outputs.rejections:
            self._rejected(message, event, rejection)

    def _rejected(
        self,
        message: InputMessage,
        event: Receipt | MemberEvent | ReviewTick,
        rejection: Rejection,
    ) -> None:
        subject = rejection.subject
        # A review run before this event may refuse an earlier input (a return that waited
        # too long): then the original bytes are not at hand, so the subject is re-encoded.
        if _same_input(subject, event) and message.value is not None:
            topic, offset, payload = message.topic, message.offset, message.value
        else:
            kind = RECEIPTS if isinstance(subject, Receipt) else MEMBER_EVENTS
            topic, offset, payload = self.topic_names[kind], -1, self.codec.encode(subject)
        letter = DeadLetter(
            source_topic=topic,
            partition=message.partition,
            offset=offset,
            key=rejection.member_id.encode(),
            error_code=rejection.error_code,
            error=rejection.error,
            payload=payload,
            failed_at=datetime.now(UTC),
        )
        self._send_dead_letter(letter)

    def _dead_letter(self, message: InputMessage, code: str, error: str) -> None:
        letter = DeadLetter(
            source_topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            error_code=code,
            error=error,
            payload=message.value or b"",
            failed_at=datetime.now(UTC),
        )
        self._send_dead_letter(letter)

    def _send_dead_letter(self, letter: DeadLetter) -> None:
        self.result.dead_letters += 1
        self.result.outgoing.append(
            OutgoingMessage("dead_letters", letter.key, self.codec.encode(letter))
        )


def _same_input(subject: Receipt | MemberEvent, event: Receipt | MemberEvent | ReviewTick) -> bool:
    if isinstance(subject, Receipt) and isinstance(event, Receipt):
        return subject.receipt_id == event.receipt_id
    if isinstance(subject, MemberEvent) and isinstance(event, MemberEvent):
        return subject.event_id == event.event_id
    return False
