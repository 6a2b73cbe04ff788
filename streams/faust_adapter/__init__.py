"""The Faust adapter: how the worker reads, writes and commits through Faust and Kafka.

- `internals.py`: the only code relying on Faust's and aiokafka's private names (listed
  there, with the versions verified and a start-up check);
- `intake.py`: input records taken at the fetch, handed to the worker in contiguous batches,
  offsets committed when the checkpoint says (`agents.worker.ports.InputSource`);
- `refill.py`: offsets a partition jumped over, read from the broker;
- `outputs.py`: the producer of outputs and changelog records (librdkafka);
- `table.py`: the member table, written through its store's own API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streams.faust_adapter.intake import FaustInput
from streams.faust_adapter.internals import BulkRecovery, ConsumerHooks, install
from streams.faust_adapter.outputs import KafkaOutputs
from streams.faust_adapter.refill import RunReader
from streams.faust_adapter.table import FaustMemberTable


@dataclass(frozen=True, slots=True)
class AdapterConfig:
    input_topics: frozenset[str]
    topic_names: Mapping[str, str]  # contract name -> topic
    client_config: Mapping[str, Any]  # librdkafka settings (bootstrap, security)
    batch_size: int
    pulse: float  # seconds without input before an empty batch
    fetch_max_wait_ms: int
    linger: float  # the producer's, seconds


@dataclass(frozen=True, slots=True)
class Adapter:
    """The worker's ports on one Faust app (agents/worker/ports.py)."""

    intake: FaustInput  # InputSource
    outputs: KafkaOutputs  # OutputSink
    members: FaustMemberTable  # MemberTable
    recovery: BulkRecovery

    def take(self, records: Any, epoch: int) -> Any:
        """One fetch's records: inputs to the intake, recovering changelogs to the table."""
        return self.recovery.take(self.intake.take(records, epoch))

    def revoke(self) -> None:
        """A rebalance begins (Faust's `on_partitions_revoked`)."""
        self.intake.revoke()
        self.recovery.revoke()

    def close(self) -> None:
        self.outputs.close()
        self.intake.runs.close()


async def partition_bounds(consumer: Any, tps: list[Any]) -> dict[Any, tuple[int, int]]:
    """(first offset, end offset) of each partition, asked of the broker."""
    first = await consumer.earliest_offsets(*tps)
    end = await consumer.highwaters(*tps)
    return {tp: (int(first[tp]), int(end[tp])) for tp in tps if tp in first and tp in end}


def adapt(app: Any, table: Any, config: AdapterConfig) -> Adapter:
    """Install the adapter on a Faust app (before it starts) and return the worker's ports."""
    from faust.types import TP

    intake = FaustInput(
        topics=config.input_topics,
        runs=RunReader(dict(config.client_config)),
        batch_size=config.batch_size,
        pulse=config.pulse,
        highwater=lambda topic, partition: app.consumer.highwater(TP(topic, partition)),
        bounds=lambda tps: partition_bounds(app.consumer, tps),
    )

    async def commit_offsets(offsets: Any) -> bool:
        by_tp = {TP(topic, partition): offset for (topic, partition), offset in offsets.items()}
        return bool(await app.consumer.commit_offsets(by_tp))

    intake.commit_offsets = commit_offsets
    outputs = KafkaOutputs(config.client_config, config.topic_names, config.linger)
    adapter = Adapter(
        intake,
        outputs,
        FaustMemberTable(table, outputs),
        BulkRecovery(app, {table.changelog_topic.get_topic_name(): table}),
    )
    hooks = ConsumerHooks(
        epoch=intake.epoch_now,
        take=adapter.take,
        room=intake.room,
        seeked=intake.seeked,
        fetch_max_wait_ms=config.fetch_max_wait_ms,
    )
    install(app, hooks)
    return adapter
