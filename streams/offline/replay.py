"""Offline replay: the worker's use case (agents/usecase) over a history, with no Kafka.

A history file is applied as the worker would read it from the topics: each line becomes the
input message `tierflow produce` would publish (key = member id, partition by murmur2, record
timestamp = `occurred_at`), each topic's messages keep file order, and the one order rule
(agents/usecase/order.py) merges them. The same `MemberBatch` the worker runs then decodes,
checks, applies and encodes, so the outputs are the very messages the worker sends. Then the
daily reviews run up to the as-of date, as the review tick of that date does live.
`tierflow replay` writes the result into DuckDB through the sink's store; `tierflow whatif`
compares two programs' results.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from agents.rules import MemberView, member_view
from agents.rules.events import MemberEvent, Receipt
from agents.rules.program import Program
from agents.usecase import (
    MEMBER_EVENTS,
    RECEIPTS,
    REVIEW_TICKS,
    InputMessage,
    MemberBatch,
    MemberRecord,
    OutgoingMessage,
    ReviewIndex,
    in_apply_order,
    partition_of,
    refused_input,
)
from agents.usecase.order import record_timestamp
from agents.worker.ticks import tick_messages
from schemas.codec import default_codec
from schemas.jsonl import FileLine, read_jsonl_lines
from streams.collector import collecting_for_batches
from streams.settings import TOPIC_NAMES

BATCH = 5_000  # messages per use-case batch (any size gives the same result)


@dataclass(slots=True)
class Replay:
    """What a replay leaves: every member's record, and every message the worker would have
    sent, in order."""

    program: Program
    partitions: int = 8
    records: dict[str, MemberRecord] = field(default_factory=dict)
    outgoing: list[OutgoingMessage] = field(default_factory=list)
    inputs: list[Receipt | MemberEvent] = field(default_factory=list)
    last_local_date: date | None = None
    as_of: date | None = None
    index: ReviewIndex = field(default_factory=ReviewIndex)
    _offsets: Counter[tuple[str, int]] = field(default_factory=Counter)

    def apply_inputs(self, inputs: Iterable[Receipt | MemberEvent]) -> None:
        """Apply inputs as if published in this order, each topic in order (one phase: a
        later call applies after everything of this one, as input published later does)."""
        messages = []
        for item in inputs:
            self.inputs.append(item)
            messages.append(self._message(item))
        self._apply(messages)

    def apply_file(self, path: Path, on_line: Callable[[], None] | None = None) -> None:
        """Apply a JSON Lines history; a bad line becomes a dead letter (file:<name>)."""
        written_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        messages = []
        for line in read_jsonl_lines(path):
            if on_line is not None:
                on_line()
            if line.message is None:
                self._bad_line(path.name, line, written_at)
                continue
            self.inputs.append(line.message)
            messages.append(self._message(line.message))
        self._apply(messages)

    def review_through(self, as_of: date | None = None) -> date | None:
        """Run every member's daily reviews up to and including `as_of` (default: the last
        event's local date), as the review tick of that date does live."""
        as_of = as_of or self.last_local_date
        if as_of is None:
            return None
        ticks = [
            InputMessage(REVIEW_TICKS, TOPIC_NAMES["review_ticks"], partition, n, 0, None, value)
            for n, (partition, value) in enumerate(
                tick_messages(default_codec(), self.partitions, as_of)
            )
        ]
        for partition in range(self.partitions):
            self.index.mark_built(partition)
        self._run(ticks)
        self.as_of = as_of
        return as_of

    def views(self) -> Iterator[MemberView]:
        """Every member as of the review date (ids whose first event was refused left out)."""
        as_of = self.as_of or self.last_local_date
        if as_of is None:
            return
        for record in self.records.values():
            if record.state is not None and record.state.is_member:
                yield member_view(record.state, self.program, as_of)

    def tier_distribution(self) -> Counter[str]:
        return Counter(view.tier for view in self.views())

    def decoded(self, topic: str) -> list[dict[str, Any]]:
        """The outgoing messages of a contract topic ("ledger", ...), decoded."""
        codec = default_codec()
        return [codec.decode_record(m.value)[1] for m in self.outgoing if m.topic == topic]

    def counts(self) -> Counter[str]:
        return Counter(message.topic for message in self.outgoing)

    # -- inside --

    def _message(self, item: Receipt | MemberEvent) -> InputMessage:
        kind = RECEIPTS if isinstance(item, Receipt) else MEMBER_EVENTS
        key = item.member_id.encode()
        partition = partition_of(key, self.partitions)
        offset = self._offsets[(kind, partition)]
        self._offsets[(kind, partition)] += 1
        local = self.program.local(item.occurred_at).date()
        if self.last_local_date is None or local > self.last_local_date:
            self.last_local_date = local
        return InputMessage(
            kind, TOPIC_NAMES[kind], partition, offset, record_timestamp(item), key, None, item
        )

    def _bad_line(self, source: str, line: FileLine, written_at: datetime) -> None:
        assert line.error is not None
        at = line.occurred_at or written_at
        message = InputMessage(
            RECEIPTS,
            f"file:{source}",
            -1,
            line.number,
            int(at.timestamp() * 1000),
            line.member_id.encode() if line.member_id else None,
            line.text.encode(),
        )
        letter = refused_input(default_codec(), message, line.error.code, str(line.error))
        self.outgoing.append(
            OutgoingMessage("dead_letters", letter.key, default_codec().encode(letter))
        )

    def _apply(self, messages: list[InputMessage]) -> None:
        with collecting_for_batches():
            self._run(list(in_apply_order(messages)))

    def _run(self, messages: list[InputMessage]) -> None:
        for first in range(0, len(messages), BATCH):
            batch = MemberBatch(
                self.program,
                default_codec(),
                self.index,
                self.records.get,
                TOPIC_NAMES,
                self.partitions,
            )
            result = batch.apply_all(messages[first : first + BATCH])
            for member_id, (_partition, record) in result.records.items():
                self.records[member_id] = record
            self.outgoing.extend(result.outgoing)


def replay_file(
    path: Path,
    program: Program,
    as_of: date | None = None,
    on_line: Callable[[], None] | None = None,
    partitions: int = 8,
) -> Replay:
    replay = Replay(program, partitions)
    replay.apply_file(path, on_line)
    replay.review_through(as_of)
    return replay


def store_records(replay: Replay) -> Iterator[tuple[str, dict[str, Any]]]:
    """The replay as (record name, dict) pairs, from the very bytes the worker would send
    (and the inputs as `tierflow produce` would publish them), as the sink stores them."""
    codec = default_codec()
    for item in replay.inputs:
        yield codec.decode_record(codec.encode(item))
    by_topic: dict[str, list[OutgoingMessage]] = defaultdict(list)
    for message in replay.outgoing:
        by_topic[message.topic].append(message)
    for topic in ("ledger", "tier_changes", "notifications", "dead_letters", "members"):
        for message in by_topic[topic]:
            yield codec.decode_record(message.value)


def write_store(replay: Replay, path: Path, batch: int = 50_000) -> int:
    """Write the replay into the DuckDB file at `path` through the sink's store; rows written."""
    from sink.store import Store

    written = 0
    with Store.from_program(path, replay.program) as store:
        chunk: list[tuple[str, dict[str, Any]]] = []
        for record in store_records(replay):
            chunk.append(record)
            if len(chunk) >= batch:
                store.append_records(chunk)
                written += len(chunk)
                chunk = []
        if chunk:
            store.append_records(chunk)
            written += len(chunk)
        store.checkpoint()
    return written
