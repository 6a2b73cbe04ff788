"""What commits together for one batch of member inputs, and in which order.

The live path runs at-least-once with idempotent effects (docs/streaming.md, "Delivery"):
member state is applied exactly once, outputs are sent at least once and carry stable ids.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from agents.member_batch import BatchResult, OutgoingMessage, partition_of


class Checkpoint:
    """The one commit path of the member agent.

    `commit(result)` runs these steps, in this order:

    1. Send every outgoing message of the batch (ledger entries, tier changes,
       notifications, dead letters, member snapshots), keyed by member id, in the order the
       rules produced them; one key goes to one partition, so per-member order holds.
    2. Wait until the broker has acknowledged all of them (`acks=all`).
    3. Write each touched member's record to the member table, once per batch: the local
       store at once, the changelog record queued in the producer (not awaited). The record
       carries the input offsets it has applied.
       Skipped, and the batch abandoned, if a rebalance began since its inputs were read
       (agents/intake.py): its inputs will be read again, by this worker or the next
       owner, and the outputs already sent carry the same ids then.
    4. Return. The agent then acks the batch's input events, and Faust's next
       offset commit (every `commit_interval` seconds) first flushes the producer, so the
       changelog writes of step 3 are durable before the input offsets are committed.

    A crash between 2 and 3-durable redelivers the batch: the member records do not yet show
    it, so the rules run again and send the same outputs with the same ids (a consumer drops
    repeats by id). A crash after the changelog writes but before the offset commit
    redelivers inputs that the records show as applied: they are skipped, nothing is sent.
    No step loses an output or applies an input twice to a member's state.
    """

    def __init__(self, app: Any, table: Any, topic_names: dict[str, str], partitions: int) -> None:
        self.partitions = partitions  # of the inputs, the table and co-partitioned outputs
        self.app = app
        self.table = table
        self.topic_names = topic_names
        self._partitions: dict[str, int] = {}
        self._writing = 0  # member-record writes under way (step 3)
        self._written = asyncio.Event()
        self._written.set()

    async def quiesce(self) -> None:
        """Wait until no step 3 is under way. A rebalance's revoke (and the worker's
        shutdown) waits here, then flushes the producer: every changelog record a batch
        wrote before the fence closed is on the broker before the partition can move, so
        its next owner's recovery reads it (a later write would land after that recovery and
        take the member back to an older state at the next one)."""
        await self._written.wait()

    async def commit(self, result: BatchResult, still_current: Callable[[], bool]) -> bool:
        """Steps 1-3; False (nothing written to the table) if `still_current()` says a
        rebalance overtook the batch while its outputs were being sent."""
        if self.app.in_transaction:
            await self._send_in_transactions(result.outgoing)
            if not still_current():
                return False
            for member_id, (_partition, record) in result.records.items():
                self.table[member_id.encode()] = record.to_bytes()
            return True
        await self._send_batched(result.outgoing)
        if not still_current():
            return False
        self._writing += 1
        self._written.clear()
        try:
            await self._write_members(result)
        finally:
            self._writing -= 1
            if self._writing == 0:
                self._written.set()
        return True

    async def _write_members(self, result: BatchResult) -> None:
        """Step 3: the local store now, the changelog queued (Faust's commit flushes it).

        The same records Faust's `table[key] = value` would write (raw key and value), sent
        as one batch per changelog partition instead of one Faust send per member.
        """
        producer = self.app.producer._ensure_producer()
        changelog = self.table.changelog_topic.get_topic_name()
        by_partition: dict[int, list[tuple[bytes, bytes]]] = defaultdict(list)
        for member_id, (partition, record) in result.records.items():
            key, value = member_id.encode(), record.to_bytes()
            self.table.data[key] = value
            by_partition[partition].append((key, value))  # inputs and table: co-partitioned
        for partition, rows in by_partition.items():
            batch = producer.create_batch()
            for key, value in rows:
                if batch.append(timestamp=None, key=key, value=value) is None:
                    await producer.send_batch(batch, changelog, partition=partition)
                    batch = producer.create_batch()
                    batch.append(timestamp=None, key=key, value=value)
            await producer.send_batch(batch, changelog, partition=partition)

    async def _send_batched(self, outgoing: list[OutgoingMessage]) -> None:
        """Steps 1-2 with one record batch per output partition (aiokafka `send_batch`).

        Building the batches here instead of one `send` per message saves Faust's and
        aiokafka's per-message futures; the partition is the default partitioner's (murmur2
        of the key), so a member's outputs land where `send` would put them, in order.
        """
        producer = self.app.producer._ensure_producer()
        by_partition: dict[tuple[str, int], list[OutgoingMessage]] = defaultdict(list)
        for message in outgoing:
            topic = self.topic_names[message.topic]
            partition = message.partition
            if partition is None or await self._count(producer, topic) != self.partitions:
                partition = await self._partition(producer, topic, message.key)
            by_partition[(topic, partition)].append(message)
        pending = []
        for (topic, partition), messages in by_partition.items():
            batch = producer.create_batch()
            for message in messages:
                if batch.append(timestamp=None, key=message.key, value=message.value) is None:
                    pending.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = producer.create_batch()
                    batch.append(timestamp=None, key=message.key, value=message.value)
            pending.append(await producer.send_batch(batch, topic, partition=partition))
        if pending:
            await asyncio.gather(*pending)

    async def _count(self, producer: Any, topic: str) -> int:
        count = self._partitions.get(topic)
        if count is None:
            count = self._partitions[topic] = len(await producer.partitions_for(topic))
        return count

    async def _partition(self, producer: Any, topic: str, key: bytes | None) -> int:
        """The default partitioner's choice (murmur2 of the key); keyless messages go to 0."""
        return partition_of(key, await self._count(producer, topic)) if key is not None else 0

    async def _send_in_transactions(self, outgoing: list[OutgoingMessage]) -> None:
        """Steps 1-2 under `TIERFLOW_EXACTLY_ONCE`: each send joins Faust's transaction."""
        producer = await self.app.maybe_start_producer()
        pending = []
        for message in outgoing:
            topic = self.topic_names[message.topic]
            pending.append(await producer.send(topic, message.key, message.value, None, None, None))
        if pending:
            await asyncio.gather(*pending)
