"""The member table: Faust's table store, written the way Faust's own recovery writes it.

Faust owns the table's changelog topic, its recovery after each rebalance (the in-memory
store reads the whole changelog, RocksDB only what is past the offset it persisted), and
standby copies. tierflow writes it in one place, `write`: the rows go to the changelog
through the worker's producer, and once the broker has acknowledged them they are applied to
the local store with the store's public `apply_changelog_batch`, the call Faust's recovery
uses, per partition, with their changelog offsets (RocksDB persists the highest). The local
store is never ahead of the changelog.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from faust.types import TP

from streams.faust_adapter.outputs import KafkaOutputs


class _Message(NamedTuple):
    tp: TP
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class _ChangelogEvent(NamedTuple):
    """What `Store.apply_changelog_batch` reads of a changelog event."""

    key: bytes | None
    value: bytes | None
    message: _Message


def _same(value: Any) -> Any:
    return value


def changelog_event(tp: TP, offset: int, key: bytes | None, value: bytes | None) -> Any:
    """A changelog record as Faust's stores read an event in `apply_changelog_batch`."""
    return _ChangelogEvent(key, value, _Message(tp, tp.partition, offset, key, value))


def apply_events(store: Any, events: list[Any]) -> None:
    """Changelog events applied to a Faust store as its recovery applies them: one write
    batch per partition, and (RocksDB) each partition's highest offset persisted with it."""
    store.apply_changelog_batch(events, to_key=_same, to_value=_same)


class FaustMemberTable:
    """Implements `agents.worker.ports.MemberTable` on a Faust table of raw bytes."""

    def __init__(self, table: Any, producer: KafkaOutputs) -> None:
        self.table = table
        self.producer = producer
        self.written = 0

    @property
    def changelog(self) -> str:
        return str(self.table.changelog_topic.get_topic_name())

    def get(self, member_id: str) -> bytes | None:
        value = self.table.data.get(member_id.encode())
        return None if value is None else bytes(value)

    def items(self) -> Iterable[tuple[bytes, bytes]]:
        return self.table.data.items()  # type: ignore[no-any-return]

    async def write(self, rows: Sequence[tuple[int, bytes, bytes]]) -> None:
        if not rows:
            return
        topic = self.changelog
        stored = await self.producer.write_rows(topic, rows)
        events = [
            changelog_event(TP(topic, partition), offset, key, value)
            for partition, offset, key, value in sorted(stored)
        ]
        apply_events(self.table.data, events)
        self.written += len(events)
