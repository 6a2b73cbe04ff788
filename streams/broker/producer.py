"""Producing tierflow's inputs to Kafka: receipts and member events, keyed by member id.

One confluent-kafka producer configured for co-partitioning (`murmur2_random`: keys hash like
the Java client and aiokafka, so Faust's tables see each member on the partition they own),
batching, compression and idempotence. A failed delivery is never dropped silently: it is
counted and `flush()` raises `ProduceError` naming the first failures.
"""

from __future__ import annotations

import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from agents.rules.events import MemberEvent, Receipt
from agents.usecase.order import record_timestamp

if TYPE_CHECKING:
    from schemas.codec import Codec
    from streams.settings import Settings
    from streams.simulator.malformed import MalformedMessage

PRODUCER_CONFIG: dict[str, Any] = {
    # The Java client's partitioner (murmur2 of the key); librdkafka's default differs.
    "partitioner": "murmur2_random",
    "enable.idempotence": True,
    "compression.type": "lz4",
    "linger.ms": 25,
    "batch.num.messages": 10_000,
    "batch.size": 1_000_000,
    "queue.buffering.max.messages": 200_000,
    "queue.buffering.max.kbytes": 256 * 1024,
    # Only failures come back to Python: a delivery report per message costs more than it says.
    "delivery.report.only.error": True,
}
POLL_EVERY = 1_000  # serve delivery callbacks this often (messages)
MAX_ERRORS_KEPT = 10


class ProduceError(Exception):
    """Messages that did not reach the broker; `code`: `delivery_failed`, `flush_timeout` or
    `authentication_failed` (the broker refused the SASL credentials)."""

    def __init__(self, code: str, message: str, errors: list[str] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.errors = errors or []


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What a flush confirmed: messages acknowledged by the broker, per topic."""

    delivered: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.delivered.values())


class LoyaltyProducer:
    """Sends receipts, member events and raw bytes to their topics (key = member id, UTF-8).

    A receipt's or member event's record timestamp is its business time, `occurred_at`
    (CreateTime): the worker merges its input topics by record timestamp, as the offline
    replay merges a file (docs/contract.md, "Order"). Raw bytes (a malformed message, a line
    that does not parse) carry the record timestamp of the input sent before them: stamped
    "now" in a backfill, a broken record would hold back the later records of its topic
    until the other topics reached now. The contract's topics keep history forever by default
    (TIERFLOW_RETENTION_MS=-1): with a time-based retention, old business times would be
    deleted at once.
    """

    def __init__(
        self,
        settings: Settings,
        codec: Codec | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        from confluent_kafka import Producer

        self.codec = codec or settings.codec()
        self.receipts_topic = settings.topic("receipts")
        self.member_events_topic = settings.topic("member_events")
        self.sent: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.errors: list[str] = []
        self.refused: str | None = None  # the broker's authentication error, if any
        self._unpolled = 0
        self._last_stamp = 0  # ms: the record timestamp of the last input sent (0: now)
        full_config = settings.kafka_client_config() | PRODUCER_CONFIG | (config or {})
        # Weakly: the client holding this object's bound methods would make a cycle that
        # keeps the client (its threads, its connections) alive until the interpreter exits.
        full_config["on_delivery"] = _weakly(self._on_delivery)
        full_config["error_cb"] = _weakly(self._on_client_error)
        self._producer = Producer(full_config)

    def topic(self, name: str) -> str:
        """The full name of an input topic by contract name: `receipts` or `member_events`."""
        return self.receipts_topic if name == "receipts" else self.member_events_topic

    def send_receipt(self, receipt: Receipt) -> None:
        self.send_raw(
            self.receipts_topic,
            receipt.member_id,
            self.codec.encode(receipt),
            timestamp=record_timestamp(receipt),
        )

    def send_member_event(self, event: MemberEvent) -> None:
        self.send_raw(
            self.member_events_topic,
            event.member_id,
            self.codec.encode(event),
            timestamp=record_timestamp(event),
        )

    def send_malformed(self, message: MalformedMessage) -> None:
        from streams.simulator.malformed import malformed_bytes

        self.send_raw(self.topic(message.topic), message.key, malformed_bytes(message, self.codec))

    def send(self, message: Receipt | MemberEvent | MalformedMessage) -> None:
        """Any message of the simulated stream, to its topic."""
        if isinstance(message, Receipt):
            self.send_receipt(message)
        elif isinstance(message, MemberEvent):
            self.send_member_event(message)
        else:
            self.send_malformed(message)

    def send_raw(
        self, topic: str, key: str | bytes | None, value: bytes, timestamp: int = 0
    ) -> None:
        """Bytes as they are (malformed messages too); `timestamp` in ms, 0: the last input's
        (or now, before any)."""
        if timestamp:
            self._last_stamp = timestamp
        else:
            timestamp = self._last_stamp
        while True:
            try:
                self._producer.produce(topic, value, key, timestamp=timestamp)
                break
            except BufferError:
                # The local queue is full: wait for deliveries to make room.
                self._producer.poll(0.05)
        self.sent[topic] += 1
        self._unpolled += 1
        if self._unpolled >= POLL_EVERY:
            self._producer.poll(0)
            self._unpolled = 0

    def _on_delivery(self, error: Any, message: Any) -> None:
        if error is None:
            return
        topic = message.topic() or "?"
        self.failed[topic] += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(f"{topic}: {error}")

    def _on_client_error(self, error: Any) -> None:
        from confluent_kafka import KafkaError

        # librdkafka retries a refused login forever; wrong credentials never heal, so say so.
        if error.code() in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED):
            self.refused = self.refused or error.str()

    def pending(self) -> int:
        """Messages handed to the producer and not yet acknowledged or failed."""
        return len(self._producer)

    def flush(self, timeout: float = 60.0) -> DeliveryReport:
        """Wait for every message; raise `ProduceError` if any was not delivered."""
        deadline = time.monotonic() + timeout
        remaining = self._producer.flush(min(timeout, 0.5))
        while remaining and self.refused is None and time.monotonic() < deadline:
            remaining = self._producer.flush(min(0.5, max(deadline - time.monotonic(), 0)))
        if remaining and self.refused is not None:
            # Nothing queued can go out now; purged, they no longer pin this producer alive.
            self._producer.purge()
            self._producer.flush(0)
            raise ProduceError(
                "authentication_failed",
                f"the broker refused the credentials: {self.refused}; check "
                "TIERFLOW_SECURITY_PROTOCOL, TIERFLOW_SASL_MECHANISM, TIERFLOW_SASL_USERNAME "
                "and TIERFLOW_SASL_PASSWORD",
                list(self.errors),
            )
        if remaining:
            raise ProduceError(
                "flush_timeout",
                f"{remaining} messages still undelivered after {timeout:.0f}s; "
                "is the broker reachable?",
                list(self.errors),
            )
        if self.failed:
            counts = ", ".join(f"{topic}: {n}" for topic, n in sorted(self.failed.items()))
            raise ProduceError(
                "delivery_failed",
                f"{sum(self.failed.values())} messages failed ({counts}); first: {self.errors[0]}",
                list(self.errors),
            )
        return DeliveryReport({t: n - self.failed[t] for t, n in self.sent.items()})

    def close(self) -> None:
        """Let the librdkafka client go now (its threads, its connections), even while
        something still holds this object. Call after `flush`."""
        self._producer = None


def _weakly(method: Callable[..., None]) -> Callable[..., None]:
    """`method` called through a weak reference to its object (a no-op once it is gone)."""
    ref = weakref.WeakMethod(method)

    def call(*args: Any) -> None:
        bound = ref()
        if bound is not None:
            bound(*args)

    return call


class RateLimit:
    """A token bucket: at most `rate` messages a second on average, bursts of `burst`."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0 messages per second")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 10)
        self.tokens = self.burst
        self.last = time.monotonic()

    def wait(self, messages: int = 1) -> None:
        """Return once `messages` more messages may go, sleeping (never busy-waiting) until then."""
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            # The tolerance keeps float rounding from turning into endless tiny sleeps.
            if self.tokens >= min(messages, self.burst) - 1e-6:
                self.tokens -= messages
                return
            time.sleep((min(messages, self.burst) - self.tokens) / self.rate)


def publish_review_ticks(settings: Settings, review_date: date, timeout: float = 30.0) -> int:
    """Publish the ticks of `review_date` to every partition of the review-ticks topic (what
    the leader's timer does each local midnight); returns how many."""
    from confluent_kafka import Producer

    from agents.worker.ticks import tick_messages

    codec = settings.codec()
    producer = Producer({**settings.kafka_client_config(), "enable.idempotence": True})
    failures: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(str(error))

    topic = settings.topic("review_ticks")
    messages = tick_messages(codec, settings.partitions, review_date)
    for partition, value in messages:
        producer.produce(topic, value=value, partition=partition, on_delivery=delivered)
    remaining = producer.flush(timeout)
    if remaining or failures:
        raise ProduceError(
            "delivery_failed",
            f"review ticks for {review_date} not all delivered to {topic}: "
            f"{remaining} pending, errors {failures[:3]}",
        )
    return len(messages)
