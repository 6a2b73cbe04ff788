"""The checkpoint's member writes and the rebalance: a revoke waits for writes under way,
and a batch the fence refuses writes nothing (agents/checkpoint.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from agents.checkpoint import Checkpoint
from agents.member_batch import BatchResult
from agents.member_record import MemberRecord


class FakeProducer:
    """aiokafka's batch API; `send_batch` of the changelog waits until `release` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.sent: list[tuple[str, int, list[bytes]]] = []

    def create_batch(self) -> Any:
        keys: list[bytes] = []
        return SimpleNamespace(keys=keys, append=lambda **kw: keys.append(kw["key"]) or True)

    async def send_batch(self, batch: Any, topic: str, partition: int) -> asyncio.Future[None]:
        if topic.endswith("changelog"):
            await self.release.wait()
        self.sent.append((topic, partition, batch.keys))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(8))


def _checkpoint(producer: FakeProducer) -> tuple[Checkpoint, dict[bytes, bytes]]:
    data: dict[bytes, bytes] = {}
    app = SimpleNamespace(
        in_transaction=False,
        producer=SimpleNamespace(_ensure_producer=lambda: producer),
    )
    table = SimpleNamespace(
        data=data,
        changelog_topic=SimpleNamespace(get_topic_name=lambda: "t.members-changelog"),
    )
    return Checkpoint(app, table, {"ledger": "t.ledger"}, partitions=8), data


def _result() -> BatchResult:
    result = BatchResult()
    result.records["M1"] = (3, MemberRecord(state=None, applied={"receipts": 7}))
    return result


def test_a_revoke_waits_for_member_writes_under_way() -> None:
    async def run() -> list[str]:
        producer = FakeProducer()
        checkpoint, data = _checkpoint(producer)
        steps: list[str] = []

        async def batch() -> None:
            assert await checkpoint.commit(_result(), lambda: True)
            steps.append("batch written")

        async def revoke() -> None:
            await checkpoint.quiesce()
            steps.append("revoke went on")

        writing = asyncio.create_task(batch())
        await asyncio.sleep(0.01)
        assert data  # the local store is written at once, the changelog send is pending
        revoking = asyncio.create_task(revoke())
        await asyncio.sleep(0.01)
        assert steps == []  # the revoke waits for the changelog send
        producer.release.set()
        await asyncio.gather(writing, revoking)
        assert producer.sent == [("t.members-changelog", 3, [b"M1"])]
        return steps

    assert asyncio.run(run()) == ["batch written", "revoke went on"]


def test_a_batch_the_fence_refuses_writes_no_member_record() -> None:
    async def run() -> tuple[bool, dict[bytes, bytes], FakeProducer]:
        producer = FakeProducer()
        checkpoint, data = _checkpoint(producer)
        written = await checkpoint.commit(_result(), lambda: False)
        await asyncio.wait_for(checkpoint.quiesce(), 1)  # nothing under way
        return written, data, producer

    written, data, producer = asyncio.run(run())
    assert written is False
    assert data == {} and producer.sent == []
