"""What the worker needs from Kafka and Faust, as small typed interfaces.

The worker (agents/worker/loop.py, checkpoint.py) talks only to these; the Faust adapter
(streams/faust_adapter/) implements them, and `streams/app.py` wires the two together. A test
can hand the worker in-memory fakes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from agents.usecase import OutgoingMessage

# (topic, partition) -> the offset to read next: what an input commit stores.
Offsets = Mapping[tuple[str, int], int]


class InputRecord(Protocol):
    """One record of an input topic (aiokafka's `ConsumerRecord` has this shape)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...  # ms since the epoch
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class InputBatch:
    """Records read in one assignment (`epoch`). Per topic partition they follow each other
    with no offset missing since the last batch of the same epoch (only transaction markers
    and aborted records are ever skipped). An empty batch is a pulse: nothing came for a
    while, and held records may be due."""

    epoch: int
    records: Sequence[InputRecord]


class InputSource(Protocol):
    """The input topics as the worker sees them."""

    @property
    def epoch(self) -> int:
        """The current assignment; a rebalance starts a new one. Input read in an earlier
        epoch must not be applied or committed: its partitions are read again from their
        committed offsets, here or by their next owner."""
        ...

    def batches(self) -> AsyncIterator[InputBatch]: ...

    def lag(self, topic: str, partition: int) -> int | None:
        """Records on the broker past the last one handed over (None: not known yet)."""
        ...

    async def commit(self, offsets: Offsets, epoch: int) -> bool:
        """Commit input offsets read in `epoch`; False when that epoch is over."""
        ...


class OutputSink(Protocol):
    async def send(self, messages: Sequence[OutgoingMessage]) -> None:
        """Send in order (one key keeps its order); return once the broker acknowledged all
        of them (acks=all); raise if any could not be delivered."""
        ...


class MemberTable(Protocol):
    """The member table of the partitions assigned here: member id -> stored record."""

    def get(self, member_id: str) -> bytes | None: ...

    def items(self) -> Iterable[tuple[bytes, bytes]]:
        """Every member stored here, as (member id, record)."""
        ...

    async def write(self, rows: Sequence[tuple[int, bytes, bytes]]) -> None:
        """Store (partition, member id, record) rows: durable in the changelog, then in the
        local store, on return."""
        ...
