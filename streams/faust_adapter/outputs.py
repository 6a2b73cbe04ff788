"""The worker's producer: outputs and member-table changelog records, through librdkafka.

confluent-kafka's producer batches, compresses and retries in C threads, so a message costs
the worker a call of a microsecond or two, where a Faust or aiokafka send costs a future and
tens of microseconds of Python. Keys hash with `murmur2_random`, the Java client's and
aiokafka's partitioner, so a member's outputs land on the partition number of its inputs.
The producer is idempotent (acks=all, no duplicates or reordering from its own retries).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from agents.usecase import OutgoingMessage

PRODUCER_CONFIG: dict[str, Any] = {
    "partitioner": "murmur2_random",
    "enable.idempotence": True,
    "compression.type": "lz4",
    "batch.num.messages": 10_000,
    "queue.buffering.max.messages": 500_000,
    "queue.buffering.max.kbytes": 512 * 1024,
    # A message the broker has not taken after this long fails (and the worker stops).
    "delivery.timeout.ms": 120_000,
}


class OutputsNotDelivered(RuntimeError):
    """Messages the broker did not acknowledge: the batch is not committed; the worker
    stops, and its inputs are read again at the next start."""

    code = "outputs_not_delivered"


class KafkaOutputs:
    """Implements `agents.worker.ports.OutputSink`, and writes changelog rows."""

    def __init__(
        self, client_config: Mapping[str, Any], topic_names: Mapping[str, str], linger: float
    ) -> None:
        self.topic_names = topic_names
        self.config = {**client_config, **PRODUCER_CONFIG, "linger.ms": linger * 1000}
        self.timeout = PRODUCER_CONFIG["delivery.timeout.ms"] / 1000 + 10
        self.sent = 0
        self._client: Any = None

    @property
    def _producer(self) -> Any:
        """Made at the first send: building the app connects to nothing."""
        if self._client is None:
            from confluent_kafka import Producer

            self._client = Producer(self.config)
        return self._client

    def connect(self, topics: Sequence[str], timeout: float = 30.0) -> None:
        """Connect and learn the topics' partitions now, not at the first batch (whose
        messages would otherwise wait for the metadata). Blocking: run it in a thread."""
        for topic in topics:
            self._producer.list_topics(topic, timeout=timeout)

    async def send(self, messages: Sequence[OutgoingMessage]) -> None:
        if not messages:
            return
        failures: list[str] = []

        def delivered(error: Any, _message: Any) -> None:
            if error is not None:
                failures.append(str(error))

        produce, names = self._producer.produce, self.topic_names
        for message in messages:
            topic = names[message.topic]
            while True:
                try:
                    produce(topic, message.value, message.key, on_delivery=delivered)
                    break
                except BufferError:  # the local queue is full: let deliveries drain
                    self._producer.poll(0.05)
        await self._flush(len(messages), failures)
        self.sent += len(messages)

    async def write_rows(
        self, topic: str, rows: Sequence[tuple[int, bytes, bytes]]
    ) -> list[tuple[int, int, bytes, bytes]]:
        """(partition, key, value) rows to `topic`; returns (partition, offset, key, value)
        as the broker stored them, once all are acknowledged."""
        stored: list[tuple[int, int, bytes, bytes]] = []
        failures: list[str] = []

        def delivered(error: Any, message: Any) -> None:
            if error is not None:
                failures.append(str(error))
            else:
                stored.append(
                    (message.partition(), message.offset(), message.key(), message.value())
                )

        for partition, key, value in rows:
            while True:
                try:
                    self._producer.produce(
                        topic, value, key, partition=partition, on_delivery=delivered
                    )
                    break
                except BufferError:
                    self._producer.poll(0.05)
        await self._flush(len(rows), failures)
        return stored

    async def _flush(self, count: int, failures: list[str]) -> None:
        remaining = await asyncio.to_thread(self._producer.flush, self.timeout)
        if remaining or failures:
            raise OutputsNotDelivered(
                f"{len(failures) + remaining} of {count} messages not acknowledged by the "
                f"broker: {(failures or ['flush timed out'])[:3]}"
            )

    def close(self) -> None:
        if self._client is not None:
            self._client.flush(self.timeout)
