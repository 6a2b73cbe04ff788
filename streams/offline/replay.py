"""Offline replay: the rules core run over a history file, with no Kafka.

The same `agents.rules.apply` the live agents call, applied to each member's events in the
file's order, then the daily reviews up to the as-of date. `tierflow replay` writes the result
into DuckDB through the sink's store; `tierflow whatif` compares two programs' results.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from agents.rules import MemberState, MemberView, apply, member_view
from agents.rules.events import MemberEvent, Receipt, ReviewTick
from agents.rules.outputs import Outputs
from agents.rules.program import Program
from schemas.codec import default_codec
from schemas.errors import CodecError
from schemas.jsonl import read_jsonl
from schemas.records import DeadLetter, MemberSnapshot
from streams.settings import TOPIC_NAMES

History = Iterable[tuple[int, Receipt | MemberEvent | CodecError]]


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """A replay allocates millions of small objects that live to the end; the cyclic
    collector's default thresholds spend a fifth of the time re-scanning them."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(200_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


@dataclass(slots=True)
class Replay:
    """What a replay leaves: members' final states, every output, and the refused lines."""

    program: Program
    as_of: date | None = None
    states: dict[str, MemberState] = field(default_factory=dict)
    outputs: Outputs = field(default_factory=Outputs)
    inputs: list[Receipt | MemberEvent] = field(default_factory=list)
    bad_lines: list[tuple[int, CodecError]] = field(default_factory=list)
    last_local_date: date | None = None

    def feed(self, history: History, on_line: Callable[[], None] | None = None) -> None:
        """Apply each event of a history to its member, in the history's order."""
        latest: datetime | None = None
        with _fewer_collections():
            for line_number, item in history:
                if on_line is not None:
                    on_line()
                if isinstance(item, CodecError):
                    self.bad_lines.append((line_number, item))
                    continue
                self.inputs.append(item)
                state, outputs = apply(self.states.get(item.member_id), item, self.program)
                self.states[item.member_id] = state
                self.outputs.extend(outputs)
                if latest is None or item.occurred_at > latest:
                    latest = item.occurred_at
        if latest is not None:
            last = self.program.local(latest).date()
            if self.last_local_date is None or last > self.last_local_date:
                self.last_local_date = last

    def review_through(self, as_of: date | None = None) -> date | None:
        """Run every member's daily reviews up to and including `as_of` (default: the last
        event's local date), as the live worker does when the review tick for that date lands."""
        as_of = as_of or self.last_local_date
        if as_of is None:
            return None
        tick = ReviewTick(as_of)
        for member_id in sorted(self.states):
            state, outputs = apply(self.states[member_id], tick, self.program)
            self.states[member_id] = state
            self.outputs.extend(outputs)
        self.as_of = as_of
        return as_of

    def views(self) -> Iterator[MemberView]:
        """Every member as of the review date (members refused at their first event excluded)."""
        as_of = self.as_of or self.last_local_date
        if as_of is None:
            return
        for state in self.states.values():
            if state.enrolled_at is not None:
                yield member_view(state, self.program, as_of)

    def snapshot_time(self) -> datetime:
        """When the members' snapshots are taken: the end of the as-of date, local time."""
        as_of = self.as_of or self.last_local_date or date(1970, 1, 1)
        local_end = datetime.combine(as_of, time(23, 59, 59), tzinfo=self.program.zone)
        return local_end.astimezone(UTC)

    def tier_distribution(self) -> Counter[str]:
        return Counter(view.tier for view in self.views())


def replay_file(
    path: Path,
    program: Program,
    as_of: date | None = None,
    on_line: Callable[[], None] | None = None,
) -> Replay:
    replay = Replay(program)
    replay.feed(read_jsonl(path), on_line)
    replay.review_through(as_of)
    return replay


def _subject_topic(subject: Receipt | MemberEvent) -> str:
    return TOPIC_NAMES["receipts"] if isinstance(subject, Receipt) else TOPIC_NAMES["member_events"]


def store_records(replay: Replay, source: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The replay as (record name, dict) pairs in the very shapes the live sink stores.

    Each message goes through the codec and back, so the tables are filled from the same
    bytes-to-dict path as the sink's, and a field one side forgets shows up as a difference.
    """
    codec = default_codec()
    failed_at = datetime(1970, 1, 1, tzinfo=UTC)
    for item in replay.inputs:
        yield codec.decode_record(codec.encode(item))
    outputs = replay.outputs
    for output in (*outputs.ledger, *outputs.tier_changes, *outputs.notifications):
        yield codec.decode_record(codec.encode(output))
    for rejection in outputs.rejections:
        letter = DeadLetter(
            source_topic=_subject_topic(rejection.subject),
            partition=-1,
            offset=-1,
            key=rejection.member_id.encode(),
            error_code=rejection.error_code,
            error=rejection.error,
            payload=codec.encode(rejection.subject),
            failed_at=rejection.occurred_at,
        )
        yield codec.decode_record(codec.encode(letter))
    for line_number, error in replay.bad_lines:
        letter = DeadLetter(
            source_topic=f"file:{source}",
            partition=-1,
            offset=line_number,
            key=None,
            error_code=error.code,
            error=str(error),
            payload=b"",
            failed_at=failed_at,
        )
        yield codec.decode_record(codec.encode(letter))
    updated_at = replay.snapshot_time()
    for view in replay.views():
        yield codec.decode_record(codec.encode(MemberSnapshot(view, updated_at)))


def write_store(replay: Replay, path: Path, source: str, batch: int = 50_000) -> int:
    """Write the replay into the DuckDB file at `path` through the sink's store; rows written."""
    from sink.store import Store

    written = 0
    with Store.from_program(path, replay.program) as store:
        chunk: list[tuple[str, dict[str, Any]]] = []
        for record in store_records(replay, source):
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
