"""The worker loop against in-memory ports: batches applied in the order rule and committed,
a new epoch drops what was held, an unreachable schema registry retries the batch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from test_live_worked_examples import PROGRAM, sale

from agents.usecase import MEMBER_EVENTS, RECEIPTS, REVIEW_TICKS, OutgoingMessage, partition_of
from agents.worker.alignment import EventTimeAligner
from agents.worker.checkpoint import Checkpoint
from agents.worker.loop import MemberWorker, WorkerConfig
from agents.worker.ports import InputBatch
from schemas.codec import Codec
from schemas.errors import CodecError
from streams.program import load_program

CODEC = Codec()
KINDS = {"r": RECEIPTS, "e": MEMBER_EVENTS, "t": REVIEW_TICKS}
NAMES = {"receipts": "r", "member_events": "e", "review_ticks": "t"}


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None


class Ports:
    """An input source, output sink and member table in memory."""

    def __init__(self, batches: list[InputBatch]) -> None:
        self._batches = batches
        self.epoch = 0
        self.sent: list[OutgoingMessage] = []
        self.rows: dict[bytes, bytes] = {}
        self.commits: list[dict[tuple[str, int], int]] = []

    async def batches(self) -> AsyncIterator[InputBatch]:
        for batch in self._batches:
            self.epoch = batch.epoch
            yield batch

    def lag(self, topic: str, partition: int) -> int | None:
        return 0  # every partition caught up: nothing waits

    async def commit(self, offsets: Mapping[tuple[str, int], int], epoch: int) -> bool:
        self.commits.append(dict(offsets))
        return True

    async def send(self, messages: Sequence[OutgoingMessage]) -> None:
        self.sent.extend(messages)

    def get(self, member_id: str) -> bytes | None:
        return self.rows.get(member_id.encode())

    def items(self) -> Iterable[tuple[bytes, bytes]]:
        return self.rows.items()

    async def write(self, rows: Sequence[tuple[int, bytes, bytes]]) -> None:
        self.rows.update({key: value for _p, key, value in rows})


def worker(ports: Ports, codec: Any = CODEC) -> MemberWorker:
    config = WorkerConfig(load_program(PROGRAM), codec, KINDS, NAMES, 1)
    checkpoint = Checkpoint(ports, ports, ports, commit_interval=0.0)
    return MemberWorker(config, ports, ports, EventTimeAligner(KINDS, ports.lag), checkpoint)


def receipt(offset: int, receipt_id: str, amount: str, member: str = "M1") -> Record:
    value = CODEC.encode(sale(member, receipt_id, 3, 15, amount))
    return Record(
        "r", partition_of(member.encode(), 1), offset, 1_000 + offset, member.encode(), value
    )


def ledger(ports: Ports) -> list[tuple[str, int]]:
    entries = [CODEC.decode_record(m.value)[1] for m in ports.sent if m.topic == "ledger"]
    return [(e["receipt_id"], e["points"]) for e in entries]


def run_all(looped: MemberWorker) -> None:
    """The worker's loop to the end of its input, then the commits it started."""

    async def run() -> None:
        await looped.run()
        await looped.checkpoint.flush(looped.epoch, force=True)

    asyncio.run(run())


def test_batches_are_applied_then_their_offsets_committed() -> None:
    ports = Ports(
        [
            InputBatch(0, [receipt(0, "R1", "10.00"), receipt(1, "R2", "5.00")]),
            InputBatch(0, []),  # a pulse
            InputBatch(0, [receipt(2, "R3", "1.00")]),
        ]
    )
    run_all(worker(ports))
    assert ledger(ports) == [("R1", 10), ("R2", 5), ("R3", 1)]
    assert ports.commits[0] == {("r", 0): 2} and ports.commits[-1] == {("r", 0): 3}
    assert b"M1" in ports.rows


def test_a_redelivered_batch_after_a_restart_is_skipped() -> None:
    first = Ports([InputBatch(0, [receipt(0, "R1", "10.00")])])
    run_all(worker(first))
    again = Ports([InputBatch(0, [receipt(0, "R1", "10.00")])])
    again.rows = dict(first.rows)  # the table as the changelog left it
    looped = worker(again)
    run_all(looped)
    assert ledger(again) == []
    assert looped.stats.skipped_repeats == 1 and again.commits == [{("r", 0): 1}]


def test_what_an_old_epoch_held_is_dropped_at_a_new_one() -> None:
    ports = Ports([])
    looped = worker(ports)
    looped.aligner.lag = lambda topic, partition: 5 if topic == "e" else 0  # events behind

    async def run() -> None:
        await looped.step(InputBatch(0, [receipt(0, "R1", "10.00")]))
        assert looped.aligner.held() == 1  # waits for the member events
        ports.epoch = 1
        await looped.step(InputBatch(1, []))

    asyncio.run(run())
    assert looped.aligner.held() == 0 and looped.stats.dropped_held == 1
    assert ledger(ports) == [] and ports.commits == []


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


def test_an_unreachable_registry_retries_the_batch_instead_of_dead_lettering(
    monkeypatch: Any,
) -> None:
    async def no_wait(seconds: float) -> None:
        return None

    monkeypatch.setattr("agents.worker.loop.asyncio.sleep", no_wait)
    codec = RegistryDownOnce()
    ports = Ports([InputBatch(0, [receipt(0, "R1", "10.00")])])
    run_all(worker(ports, codec))
    assert not codec.down
    assert ledger(ports) == [("R1", 10)]
    assert [m for m in ports.sent if m.topic == "dead_letters"] == []


def test_what_a_hold_releases_at_once_is_committed_batch_size_records_at_a_time() -> None:
    ports = Ports([])
    config = WorkerConfig(load_program(PROGRAM), CODEC, KINDS, NAMES, 1, batch_size=2)
    checkpoint = Checkpoint(ports, ports, ports, commit_interval=0.0)
    looped = MemberWorker(config, ports, ports, EventTimeAligner(KINDS, ports.lag), checkpoint)
    records = [receipt(n, f"R{n}", "1.00", member=f"M{n}") for n in range(5)]

    async def run() -> None:
        await looped.step(InputBatch(0, records))
        await checkpoint.flush(0, force=True)

    asyncio.run(run())
    assert looped.stats.batches == 3 and checkpoint.batches == 3
    assert ports.commits[0] == {("r", 0): 2} and ports.commits[-1] == {("r", 0): 5}
