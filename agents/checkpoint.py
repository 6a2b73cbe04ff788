"""What commits together for one batch of member inputs, and in which order.

The live path runs at-least-once with idempotent effects (docs/streaming.md, "Delivery"):
member state is applied exactly once, outputs are sent at least once and carry stable ids.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agents.member_batch import BatchResult


class Checkpoint:
    """The one commit path of the member agent.

    `commit(result)` runs these steps, in this order:

    1. Send every outgoing message of the batch (ledger entries, tier changes,
       notifications, dead letters, member snapshots), keyed by member id, in the order the
       rules produced them; one key goes to one partition, so per-member order holds.
    2. Wait until the broker has acknowledged all of them (`acks=all`).
    3. Write each touched member's record to the member table, once per batch. The record
       carries the input offsets it has applied; its changelog write is queued now.
    4. Return. The agent's `take_events` then acks the batch's input events, and Faust's next
       offset commit (every `commit_interval` seconds) first flushes the producer, so the
       changelog writes of step 3 are durable before the input offsets are committed.

    A crash between 2 and 3-durable redelivers the batch: the member records do not yet show
    it, so the rules run again and send the same outputs with the same ids (a consumer drops
    repeats by id). A crash after the changelog writes but before the offset commit
    redelivers inputs that the records show as applied: they are skipped, nothing is sent.
    No step loses an output or applies an input twice to a member's state.
    """

    def __init__(self, app: Any, table: Any, topic_names: dict[str, str]) -> None:
        self.app = app
        self.table = table
        self.topic_names = topic_names

    async def commit(self, result: BatchResult) -> None:
        producer = await self.app.maybe_start_producer()
        pending = []
        for message in result.outgoing:
            pending.append(
                await producer.send(
                    self.topic_names[message.topic], message.key, message.value, None, None, None
                )
            )
        if pending:
            await asyncio.gather(*pending)
        for member_id, (_partition, record) in result.records.items():
            self.table[member_id.encode()] = record.to_bytes()
