"""A run of input messages applied to the members they concern: decode, check, address, call
the rules, collect the messages to send and the member records to store.

No Kafka here. The caller hands in messages in apply order (agents/usecase/order.py) and a
way to read stored member records; it gets back the outgoing messages (outputs, member
snapshots, dead letters) and each touched member's new record, and commits them
(agents/worker/checkpoint.py live, streams/offline/replay.py offline).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from agents.rules import apply, member_view, next_review_date, snapshot_date
from agents.rules.events import MemberEvent, Receipt, ReviewTick
from agents.rules.outputs import LedgerKind, Outputs, Rejection
from agents.rules.program import Program
from agents.usecase.inputs import (
    MEMBER_EVENTS,
    RECEIPTS,
    REVIEW_TICKS,
    InputMessage,
    OutgoingMessage,
    partition_of,
)
from agents.usecase.member_record import MemberRecord
from agents.usecase.review_index import ReviewIndex
from schemas.codec import Codec
from schemas.errors import CodecError
from schemas.records import DeadLetter, MemberSnapshot

Input = Receipt | MemberEvent | ReviewTick


class Refused(Exception):
    """An input refused before the rules see it; `code` lands in its dead letter."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class BatchResult:
    outgoing: list[OutgoingMessage] = field(default_factory=list)
    records: dict[str, tuple[int, MemberRecord]] = field(default_factory=dict)
    applied: int = 0  # inputs applied to a member (a tick counts once per member reviewed)
    skipped_repeats: int = 0  # inputs a member record shows as applied already
    reviews: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)  # by error code
    # (input kind, outcome, reason) -> inputs: credited / applied, refused (reason: blocked,
    # closed, insufficient_balance), dead_lettered (reason: the code), repeat
    outcomes: Counter[tuple[str, str, str]] = field(default_factory=Counter)


class MemberBatch:
    """Applies messages to their members, in the order given; one instance per batch."""

    def __init__(
        self,
        program: Program,
        codec: Codec,
        index: ReviewIndex,
        load: Callable[[str], MemberRecord | None],
        topic_names: Mapping[str, str],
        partitions: int,
    ) -> None:
        self.program = program
        self.codec = codec
        self.index = index
        self.load = load
        self.topic_names = topic_names
        self.partitions = partitions
        self.result = BatchResult()
        self._changed_at: dict[str, datetime] = {}  # member -> event time of its last change
        self._event: Receipt | MemberEvent | None = None  # the current input, once decoded
        self._outcome: tuple[str, str] = ("applied", "")  # of the current input

    def apply_all(self, messages: Sequence[InputMessage]) -> BatchResult:
        """Apply the messages, then add one snapshot per changed member. Raises only a
        retriable `CodecError` (`registry_unavailable`: the message may be fine): the caller
        runs the batch again, since nothing of it has been stored."""
        outcomes = self.result.outcomes
        for message in messages:
            self._event = message.decoded
            self._outcome = ("applied", "")
            try:
                self._apply_message(message)
            except CodecError as refused:
                if refused.retriable:
                    raise
                self._dead_letter(message, refused.code, refused.message)
            except Refused as refused:
                self._dead_letter(message, refused.code, refused.message)
            except Exception as bug:  # a rules bug must not stop the partition
                self._dead_letter(message, "rules_error", f"{type(bug).__name__}: {bug}")
            outcomes[(message.kind, *self._outcome)] += 1
        self._snapshots()
        return self.result

    # -- one input --

    def _apply_message(self, message: InputMessage) -> None:
        if message.kind == REVIEW_TICKS:
            if message.value is None:
                raise Refused("empty_payload", "a tick with no value (tombstone) is no input")
            tick = self.codec.decode_review_tick(message.value)
            self._review_partition(message, ReviewTick(tick.review_date))
            return
        event = self._event = message.decoded or self._decode(message)
        self._check_address(message, event)
        self._apply_to_member(message, event.member_id, event)

    def _decode(self, message: InputMessage) -> Receipt | MemberEvent:
        if message.value is None:
            raise Refused("empty_payload", "a message with no value (tombstone) is not an input")
        if message.kind == RECEIPTS:
            return self.codec.decode_receipt(message.value)
        return self.codec.decode_member_event(message.value)

    def _check_address(self, message: InputMessage, event: Receipt | MemberEvent) -> None:
        """The key is the member id and the partition is the member's: that is where its
        state lives, and another partition may belong to another worker."""
        key = message.key.decode("utf-8", "replace") if message.key is not None else None
        if key != event.member_id:
            raise Refused(
                "key_mismatch",
                f"message key {key!r} is not the member id {event.member_id!r}; "
                "produce with key = member_id so the member's inputs share a partition",
            )
        expected = partition_of(event.member_id.encode(), self.partitions)
        if message.partition != expected:
            raise Refused(
                "wrong_partition",
                f"member {event.member_id!r} arrived on partition {message.partition}, "
                f"its partition is {expected}; produce with the murmur2 partitioner "
                "(confluent-kafka: partitioner=murmur2_random)",
            )

    def _review_partition(self, message: InputMessage, tick: ReviewTick) -> None:
        if not self.index.is_built(message.partition):
            raise RuntimeError(f"review index of partition {message.partition} is not built")
        for member_id in self.index.due_by(message.partition, tick.review_date):
            self.result.reviews += 1
            self._apply_to_member(message, member_id, tick)

    def _record(self, member_id: str, partition: int) -> MemberRecord:
        held = self.result.records.get(member_id)
        if held is not None:
            return held[1]
        record = self.load(member_id) or MemberRecord(state=None)
        self.result.records[member_id] = (partition, record)
        return record

    def _apply_to_member(self, message: InputMessage, member_id: str, event: Input) -> None:
        record = self._record(member_id, message.partition)
        if record.already_applied(message.kind, message.offset):
            self.result.skipped_repeats += 1
            self._outcome = ("repeat", "")
            return
        state, outputs = apply(record.state, event, self.program)
        record.state = state
        record.mark_applied(message.kind, message.offset)
        record.next_review = next_review_date(state, self.program)
        self.index.set_due(message.partition, member_id, record.next_review)
        self.result.applied += 1
        self._changed_at[member_id] = self._event_time(event)
        key, encode, out = member_id.encode(), self.codec.encode, self.result.outgoing
        out.extend(OutgoingMessage("ledger", key, encode(entry)) for entry in outputs.ledger)
        out.extend(
            OutgoingMessage("tier_changes", key, encode(change)) for change in outputs.tier_changes
        )
        out.extend(
            OutgoingMessage("notifications", key, encode(note)) for note in outputs.notifications
        )
        for rejection in outputs.rejections:
            self._rejected(message, event, rejection)
        if not isinstance(event, ReviewTick):
            self._outcome = _outcome_of(event, outputs)

    def _event_time(self, event: Input) -> datetime:
        if isinstance(event, ReviewTick):
            midnight = datetime.combine(event.review_date, time(), tzinfo=self.program.zone)
            return midnight.astimezone(UTC)
        return event.occurred_at

    # -- what goes out --

    def _snapshots(self) -> None:
        """One `loyalty.members` snapshot per changed member: its last state in the batch,
        viewed as of the latest local date that state reflects (`snapshot_date`), so the
        same events give the same snapshot however they were batched."""
        for member_id, (_partition, record) in self.result.records.items():
            changed_at = self._changed_at.get(member_id)
            # A first event refused (unknown member, auto-enroll off) leaves no member.
            if record.state is None or not record.state.is_member or changed_at is None:
                continue
            as_of = snapshot_date(record.state, self.program.local(changed_at).date())
            view = member_view(record.state, self.program, as_of)
            value = self.codec.encode(MemberSnapshot(view, changed_at))
            self.result.outgoing.append(OutgoingMessage("members", member_id.encode(), value))

    def _rejected(self, message: InputMessage, event: Input, rejection: Rejection) -> None:
        """A dead letter for an input the rules refused. A review run before `event` may
        refuse an earlier input (a return that waited too long); then the subject's own
        bytes are not at hand, so it is encoded again, with offset -1."""
        subject = rejection.subject
        if _same_input(subject, event):
            topic, offset = message.topic, message.offset
            payload = message.value if message.value is not None else self.codec.encode(subject)
        else:
            kind = RECEIPTS if isinstance(subject, Receipt) else MEMBER_EVENTS
            topic, offset, payload = self.topic_names[kind], -1, self.codec.encode(subject)
        self._send_dead_letter(
            DeadLetter(
                source_topic=topic,
                partition=message.partition,
                offset=offset,
                key=rejection.member_id.encode(),
                error_code=rejection.error_code,
                error=rejection.error,
                payload=payload,
                failed_at=rejection.occurred_at,
            )
        )

    def _dead_letter(self, message: InputMessage, code: str, error: str) -> None:
        self._outcome = ("dead_lettered", code)
        self._send_dead_letter(refused_input(self.codec, message, code, error, self._event))

    def _send_dead_letter(self, letter: DeadLetter) -> None:
        self.result.dead_letters[letter.error_code] += 1
        self.result.outgoing.append(
            OutgoingMessage("dead_letters", letter.key, self.codec.encode(letter))
        )


_REFUSALS = frozenset({LedgerKind.NOT_CREDITED, LedgerKind.REDEMPTION_REFUSED})


def _outcome_of(event: Receipt | MemberEvent, outputs: Outputs) -> tuple[str, str]:
    """How the rules took an input: dead-lettered (its own rejection), refused with a
    reason on the ledger, or credited (a receipt) / applied (a member event)."""
    for rejection in outputs.rejections:
        if _same_input(rejection.subject, event):
            return ("dead_lettered", rejection.error_code)
    for entry in outputs.ledger:
        if entry.kind in _REFUSALS:
            return ("refused", entry.reason or "")
    return ("credited", "") if isinstance(event, Receipt) else ("applied", "")


def refused_input(
    codec: Codec,
    message: InputMessage,
    code: str,
    error: str,
    event: Receipt | MemberEvent | None = None,
) -> DeadLetter:
    """The dead letter of an input refused before the rules, or one the rules raised on: its
    original bytes (a decoded file input's: encoded as `tierflow produce` writes it),
    stamped with the input's event time when it decoded, else with its record timestamp."""
    payload = message.value
    if payload is None:
        payload = codec.encode(event) if event is not None else b""
    failed_at = (
        event.occurred_at
        if event is not None
        else datetime.fromtimestamp(message.timestamp / 1000, UTC)
    )
    return DeadLetter(
        source_topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        error_code=code,
        error=error,
        payload=payload,
        failed_at=failed_at,
    )


def _same_input(subject: Receipt | MemberEvent, event: Input) -> bool:
    if isinstance(subject, Receipt) and isinstance(event, Receipt):
        return subject.receipt_id == event.receipt_id
    if isinstance(subject, MemberEvent) and isinstance(event, MemberEvent):
        return subject.event_id == event.event_id
    return False
