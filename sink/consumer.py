"""The sink: a Kafka consumer that appends every topic's messages to the analytics store.

Offsets live in the store, committed in the same transaction as the rows they cover; on each
assignment the consumer seeks to them, so a crash at any point neither loses nor duplicates a
row. Kafka's committed offsets are written afterwards, for monitoring only.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sink.batch import BATCH_SCHEMAS, BatchBuilder, Source, UnknownRecord
from sink.decoding import dead_letter_record, decode_messages
from sink.monitoring import UPKEEP_BUCKETS, Freshness, Histogram
from sink.store import Store

log = logging.getLogger("tierflow.sink")

SINK_TOPICS = (
    "receipts",
    "member_events",
    "ledger",
    "tier_changes",
    "notifications",
    "dead_letters",
    "members",
)
GROUP_ID = "tierflow-sink"


class SinkRefused(Exception):
    """The broker refused the sink's credentials (`code`: `authentication_failed`)."""

    code = "authentication_failed"


@dataclass
class SinkStats:
    """What one run of the sink did (for logs, tests and the benchmark)."""

    messages: int = 0
    records: int = 0
    undecodable: int = 0
    unstorable: int = 0
    tombstones: int = 0
    batches: int = 0
    rows: int = 0  # rows handed to the store (receipt lines count one each)
    started: float = field(default_factory=time.monotonic)
    first_message: float | None = None
    last_commit: float | None = None
    # For the operations endpoints (sink/operations.py), counted once per batch:
    # rows the store wrote per table (a row whose key it holds already is not written again)
    table_rows: Counter[str] = field(
        default_factory=lambda: Counter(dict.fromkeys(BATCH_SCHEMAS, 0))
    )
    commit_seconds: Histogram = field(default_factory=Histogram)  # a batch into the store
    upkeep_seconds: Histogram = field(default_factory=lambda: Histogram(UPKEEP_BUCKETS))
    last_commit_unix: float = 0.0  # wall clock of the last batch committed (0: none yet)
    last_turn: float = field(default_factory=time.monotonic)  # the consume loop's last turn

    def count_rows(self, tables: dict[str, Any], written: dict[str, int] | None) -> None:
        """A batch is in the store: `tables` handed to it, `written` of them per table."""
        self.rows += sum(table.num_rows for table in tables.values())
        for name, count in (written or {}).items():
            self.table_rows[name] += count

    def line(self) -> str:
        seconds = max(time.monotonic() - self.started, 1e-9)
        return (
            f"messages={self.messages} records={self.records} undecodable={self.undecodable} "
            f"unstorable={self.unstorable} tombstones={self.tombstones} batches={self.batches} "
            f"rows={self.rows} "
            f"seconds={seconds:.1f} rate={self.messages / seconds:.0f}/s"
        )


@dataclass(frozen=True)
class _Item:
    """One consumed message, decoded or turned into a dead letter."""

    name: str
    record: dict[str, Any]
    source: Source


@dataclass
class _InFlight:
    """A batch on its way into DuckDB: being decoded by the workers, or being appended by the
    writer thread while the next batch is decoded."""

    offsets: dict[tuple[str, int], int]
    messages: list[Any]  # kept for the slow path
    handles: list[Any] | None = None  # the decode workers' results
    future: Any = None  # the writer thread's append_batch
    tables: dict[str, Any] | None = None
    records: int = 0
    started_at: float | None = None  # its append_batch began
    done_at: float | None = None


def consumer_config(settings: Any) -> dict[str, Any]:
    """librdkafka settings of the sink's consumer (security passes through from Settings)."""
    return settings.kafka_client_config() | {
        "group.id": settings.topic_prefix + GROUP_ID,
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        # A killed sink's membership must not hold the restarted one back for long.
        "session.timeout.ms": 10_000,
        "heartbeat.interval.ms": 2_000,
        "queued.max.messages.kbytes": 262_144,
        "fetch.max.bytes": 52_428_800,
        "max.partition.fetch.bytes": 4_194_304,
    }


class Sink:
    """Consume the output and input topics into `store` until stopped (or idle)."""

    def __init__(
        self,
        settings: Any,
        store: Store,
        *,
        codec: Any = None,
        batch_size: int = 20_000,
        poll_timeout: float = 0.5,
        until_idle: float | None = None,
        maintain_every: float = 10.0,
        decode_workers: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if codec is None:
            codec = settings.codec()
        self.settings = settings
        self.store = store
        self.codec = codec
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.until_idle = until_idle
        self.maintain_every = maintain_every
        self.clock = clock
        self.stats = SinkStats()
        self.topics = [settings.topic(name) for name in SINK_TOPICS]
        self.decode_workers = decode_workers
        self._stopping = False
        self.refused: str | None = None  # the broker's authentication error, if any
        self._assigned_at: float | None = None
        self._pool: Any = None
        self._writer: Any = None
        self._pending: _InFlight | None = None
        self._consumer: Any = None
        self.freshness = Freshness(clock)
        self.end_offsets_every = 0.0  # seconds between looks at the broker's ends (0: none)
        self._ends_seen_at = 0.0

    def stop(self, *_: object) -> None:
        """Ask the loop to finish its batch and stop (safe from a signal handler)."""
        self._stopping = True

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        from confluent_kafka import OFFSET_BEGINNING

        self._finish_pending()  # the stored offsets must include what was already consumed
        stored = self.store.stored_offsets()
        for partition in partitions:
            # DuckDB is the truth: a partition it has never seen starts at the beginning.
            partition.offset = stored.get((partition.topic, partition.partition), OFFSET_BEGINNING)
        consumer.assign(partitions)
        known = [p for p in partitions if (p.topic, p.partition) in stored]
        if known:
            # Kafka's offsets are for monitoring; a sink killed between its DuckDB commit and
            # Kafka's would show that lag forever on a topic with nothing new to consume.
            consumer.commit(offsets=known, asynchronous=True)
        self._assigned_at = self.clock()
        self.freshness.assign(
            ((p.topic, p.partition) for p in partitions),
            stored,
        )
        log.info("event=assigned partitions=%d", len(partitions))

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        # The client unassigns them itself after this; only the bookkeeping follows.
        self.freshness.revoke((p.topic, p.partition) for p in partitions)

    def _note_end_offsets(self, consumer: Any, now: float) -> None:
        """The broker's offsets as the consumer's fetches last saw them (no request to the
        broker), for lag and data age. On the loop's thread: confluent-kafka serializes a
        consumer's calls, so another thread would wait for `consume` to return."""
        from confluent_kafka import TopicPartition

        self._ends_seen_at = now
        ends = {}
        for topic, partition in self.freshness.partitions():
            seen = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            if seen is not None:
                ends[(topic, partition)] = seen
        self.freshness.observe(ends)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def run(self) -> SinkStats:
        from confluent_kafka import Consumer

        if self.decode_workers > 0:
            from sink.decoding import DecodePool

            # Before the consumer exists: the pool's processes are spawned from a quiet parent.
            self._pool = DecodePool(self.decode_workers, self.settings.schema_registry_url)
        else:
            from concurrent.futures import ThreadPoolExecutor

            # DuckDB releases the GIL while it inserts: that overlaps the next batch's decoding.
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duckdb-writer")
        # librdkafka's own messages go through logging too (key=value lines, not "%4|...").
        config = consumer_config(self.settings) | {
            "logger": logging.getLogger("tierflow.kafka"),
            "error_cb": self._on_client_error,
        }
        consumer = self._consumer = Consumer(config)
        consumer.subscribe(
            self.topics,
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_revoke,
        )
        log.info("event=sink_started topics=%d store=%s", len(self.topics), self.store.path)
        last_message = last_upkeep = self.clock()
        dirty = False
        try:
            while not self._stopping:
                messages = consumer.consume(num_messages=self.batch_size, timeout=self.poll_timeout)
                now = self.stats.last_turn = self.clock()
                if self.end_offsets_every and now - self._ends_seen_at >= self.end_offsets_every:
                    self._note_end_offsets(consumer, now)
                if messages:
                    if self.stats.first_message is None:
                        self.stats.first_message = now
                    last_message = now
                    if self._write(consumer, messages):
                        dirty = True
                elif self._finish_pending():
                    dirty = True
                elif self._idle_for(now, last_message) >= (self.until_idle or float("inf")):
                    log.info("event=idle seconds=%.1f", now - last_message)
                    break
                if dirty and self.maintain_every and now - last_upkeep >= self.maintain_every:
                    # Readers see each batch at its commit; this keeps the store tidy (small
                    # files merged, old snapshots expired) and finishes erasures in the files.
                    self._finish_pending()
                    began = self.clock()
                    self.store.checkpoint()
                    last_upkeep, dirty = self.clock(), False
                    self.stats.upkeep_seconds.observe(last_upkeep - began)
        finally:
            self._finish_pending()
            consumer.close()
            if self._pool is not None:
                self._pool.close()
            if self._writer is not None:
                self._writer.shutdown(wait=True)
            log.info("event=sink_stopped %s", self.stats.line())
        if self.refused is not None:
            raise SinkRefused(
                f"the broker refused the credentials: {self.refused}; check "
                "TIERFLOW_SECURITY_PROTOCOL, TIERFLOW_SASL_MECHANISM, TIERFLOW_SASL_USERNAME "
                "and TIERFLOW_SASL_PASSWORD"
            )
        return self.stats

    def _on_client_error(self, error: Any) -> None:
        from confluent_kafka import KafkaError

        # librdkafka retries a refused login forever; wrong credentials never heal: stop.
        if error.code() in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED):
            self.refused = self.refused or error.str()
            self._stopping = True

    def _idle_for(self, now: float, last_message: float) -> float:
        """Seconds without a message since the partitions were assigned (0 before that)."""
        if self._assigned_at is None:
            return 0.0
        return now - max(last_message, self._assigned_at)

    def _write(self, consumer: Any, messages: list[Any]) -> bool:
        """Store a consumed batch (or, with decode workers, start it and store the previous
        one); True if something was committed."""
        good: list[Any] = []
        offsets: dict[tuple[str, int], int] = {}
        for message in messages:
            error = message.error()
            if error is not None:
                log.warning("event=consume_error code=%s", error.code())
                continue
            offsets[(message.topic(), message.partition())] = message.offset() + 1
            good.append(message)
        self.stats.messages += len(good)
        if not good:
            return self._finish_pending()
        if self._pool is not None:
            started = _InFlight(offsets, good, handles=self._pool.submit(good))
            committed = self._finish_pending()
            self._pending = started
            return committed
        try:
            decoded = decode_messages(
                self.codec,
                ((m.topic(), m.partition(), m.offset(), m.key(), m.value()) for m in good),
            )
        except (ValueError, TypeError, ArithmeticError):  # a value no column can hold
            decoded = None
        committed = self._finish_pending()
        if decoded is None:  # the slow path finds and sets aside what cannot become a row
            began = self.clock()
            items = self._items(good)
            self._append(items, offsets)
            self.stats.records += len(items)
            done = self.clock()
            self.stats.commit_seconds.observe(done - began)
            self._committed(offsets, done)
            return True
        self._count_decoding(decoded)
        job = _InFlight(offsets, good, tables=decoded.tables, records=decoded.records)
        job.started_at = self.clock()
        job.future = self._writer.submit(self.store.append_batch, decoded.tables, offsets)
        job.future.add_done_callback(lambda _: setattr(job, "done_at", self.clock()))
        self._pending = job
        return committed

    def _items(self, messages: list[Any]) -> list[_Item]:
        """The messages decoded one by one (the slow path; already counted once)."""
        decoded = [
            self._decode(m.topic(), m.partition(), m.offset(), m.key(), m.value(), count=False)
            for m in messages
        ]
        return [item for item in decoded if item is not None]

    def _finish_pending(self) -> bool:
        """Wait for the batch in flight and commit it; True if there was one."""
        job, self._pending = self._pending, None
        if job is None:
            return False
        stored, written = True, None
        if job.handles is not None:
            from sink.decoding import merge

            chunks = self._pool.results(job.handles)
            for chunk in chunks:
                self._count_decoding(chunk)
            job.tables = merge(chunks)
            job.records = sum(chunk.records for chunk in chunks)
            job.started_at = self.clock()
            try:
                written = self.store.append_batch(job.tables, job.offsets)
            except Exception as error:
                stored = self._refused(error)
            job.done_at = self.clock()
        else:
            try:
                written = job.future.result()
            except Exception as error:
                stored = self._refused(error)
        if stored:
            self.stats.count_rows(job.tables or {}, written)
            self.stats.records += job.records
        else:  # the slow path finds and sets aside the record the store refuses
            items = self._items(job.messages)
            self._append(items, job.offsets)
            self.stats.records += len(items)
            job.done_at = None
        done = job.done_at or self.clock()
        self.stats.commit_seconds.observe(done - (job.started_at or done))
        self._committed(job.offsets, done)
        return True

    @staticmethod
    def _refused(error: Exception) -> bool:
        log.warning("event=batch_refused error=%s retry=split", type(error).__name__)
        return False

    def _count_decoding(self, chunk: Any) -> None:
        self.stats.tombstones += chunk.tombstones
        self.stats.undecodable += len(chunk.undecodable)
        for topic, partition, offset, code in chunk.undecodable:
            log.warning(
                "event=undecodable topic=%s partition=%d offset=%d code=%s",
                topic,
                partition,
                offset,
                code,
            )

    def _committed(self, offsets: dict[tuple[str, int], int], at: float) -> None:
        from confluent_kafka import TopicPartition

        self.stats.batches += 1
        self.stats.last_commit = at
        self.stats.last_commit_unix = time.time()
        self.freshness.committed(offsets)
        log.debug("event=batch_committed partitions=%d", len(offsets))
        self._consumer.commit(
            offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=True
        )

    def _decode(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        *,
        count: bool = True,
    ) -> _Item | None:
        from schemas.errors import CodecError

        if value is None:  # a tombstone on the compacted members topic: nothing to store
            self.stats.tombstones += count
            return None
        try:
            name, record = self.codec.decode_record(value)
        except CodecError as error:
            if count:
                self.stats.undecodable += 1
                log.warning(
                    "event=undecodable topic=%s partition=%d offset=%d code=%s",
                    topic,
                    partition,
                    offset,
                    error.code,
                )
            return _dead_letter(topic, partition, offset, key, value, error.code, str(error))
        return _Item(name, record, (topic, partition, offset))

    def _append(self, items: list[_Item], offsets: dict[tuple[str, int], int]) -> None:
        """Append all items with the offsets; a batch the store refuses is split until the
        refused records are found, which become `unstorable` dead letters."""
        import duckdb

        try:
            tables = _tables(items)
            self.stats.count_rows(tables, self.store.append_batch(tables, offsets))
            return
        except (duckdb.Error, UnknownRecord, ValueError, TypeError) as error:
            if len(items) <= 1:
                if not items:
                    raise
                self.stats.unstorable += 1
                item = items[0]
                topic, partition, offset = item.source
                log.warning(
                    "event=unstorable topic=%s partition=%s offset=%s record=%s error=%s",
                    topic,
                    partition,
                    offset,
                    item.name,
                    type(error).__name__,
                )
                letter = _dead_letter(
                    str(topic),
                    int(partition or 0),
                    int(offset if offset is not None else -1),
                    item.record.get("member_id", "").encode(),
                    b"",
                    "unstorable",
                    f"{item.name} could not be stored: {type(error).__name__}",
                )
                tables = _tables([letter])
                self.stats.count_rows(tables, self.store.append_batch(tables, offsets))
                return
        # Earlier halves commit without offsets; if we crash in between, the replay of the
        # whole batch finds their rows already stored (keys) and adds nothing.
        middle = len(items) // 2
        self._append(items[:middle], {})
        self._append(items[middle:], offsets)


def _tables(items: list[_Item]) -> dict[str, Any]:
    builder = BatchBuilder()
    for item in items:
        builder.add(item.name, item.record, item.source)
    return builder.tables()


def _dead_letter(
    topic: str, partition: int, offset: int, key: bytes | None, value: bytes, code: str, error: str
) -> _Item:
    record = dead_letter_record(topic, partition, offset, key, value, code, error)
    return _Item("DeadLetter", record, (topic, partition, offset))


def consumer_lag(settings: Any, store: Store | None = None) -> dict[tuple[str, int], int]:
    """Messages not yet in the store, per (topic, partition): high watermark - stored offset.

    Transaction markers take offsets too, so a partition written transactionally shows a lag
    of at least 1 per transaction not followed by data (read it as "caught up" when <= 1).
    """
    from confluent_kafka import Consumer, TopicPartition

    stored = store.stored_offsets() if store is not None else {}
    probe = Consumer(settings.kafka_client_config() | {"group.id": "tierflow-sink-lag"})
    try:
        lag = {}
        metadata = probe.list_topics(timeout=10)
        for name in SINK_TOPICS:
            topic = settings.topic(name)
            if topic not in metadata.topics:
                continue
            for partition in metadata.topics[topic].partitions:
                low, high = probe.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=10
                )
                lag[(topic, partition)] = max(high - max(stored.get((topic, partition), 0), low), 0)
        return lag
    finally:
        probe.close()
