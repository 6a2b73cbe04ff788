"""The composition of the live worker: the Faust app, its topics and member table, the Faust
adapter, and the worker wired to them.

`create_app(settings)` builds one app per process. Every topic is raw bytes on the Faust
side; the worker decodes inside its use case, so a bad message becomes a dead letter instead
of crashing anything. Input records never go through Faust's streams: the adapter takes them
at the fetch (streams/faust_adapter/), and the worker's checkpoint commits their offsets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust

from streams.settings import TOPIC_NAMES, Settings

log = logging.getLogger("tierflow.app")

HEALTH_EVERY = 10.0  # seconds between the input health lines
MEMBER_TABLE = "members"
INPUT_TOPICS = ("receipts", "member_events", "review_ticks")
OUTPUT_TOPICS = ("ledger", "tier_changes", "notifications", "dead_letters", "members")


def faust_app_id(settings: Settings) -> str:
    """The consumer group and changelog prefix; the topic prefix keeps test runs apart."""
    return settings.topic_prefix + settings.app_id


def worker_datadir(settings: Settings) -> Path:
    """One folder per worker (app id + web port), so two workers on one host never share a store."""
    return settings.worker_datadir / f"{faust_app_id(settings)}-{settings.web_port}"


def _broker_credentials(settings: Settings) -> Any:
    if settings.security_protocol == "PLAINTEXT":
        return None
    import ssl

    context = None
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(
            cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None
        )
    if settings.security_protocol == "SSL":
        return faust.SSLCredentials(context)
    password = settings.sasl_password.get_secret_value() if settings.sasl_password else None
    return faust.SASLCredentials(
        username=settings.sasl_username,
        password=password,
        mechanism=settings.sasl_mechanism or "PLAIN",
        ssl_context=context,
    )


def app_settings(settings: Settings) -> dict[str, Any]:
    """Faust settings derived from tierflow's; one place, so the bench and tests agree."""
    return {
        "broker": [f"kafka://{server.strip()}" for server in settings.bootstrap.split(",")],
        "broker_credentials": _broker_credentials(settings),
        "value_serializer": "raw",
        "key_serializer": "raw",
        "topic_partitions": settings.partitions,
        "store": settings.store,
        "datadir": str(worker_datadir(settings)),
        "web_host": settings.web_host,
        "web_port": settings.web_port,
        "web_enabled": True,
        # The worker's checkpoint commits input offsets itself (agents/worker/checkpoint.py);
        # Faust's own commits see no acknowledged input (the input topics have acks off).
        "processing_guarantee": "at_least_once",
        "broker_session_timeout": settings.session_timeout,
        "broker_heartbeat_interval": min(3.0, settings.session_timeout / 5),
        "consumer_auto_offset_reset": "earliest",
        "table_standby_replicas": settings.standby_replicas,
        "producer_linger": settings.producer_linger,
        "producer_acks": -1,
        "autodiscover": False,
        "topic_allow_declare": True,
        "stream_wait_empty": False,
    }


class WorkerApp(faust.App):  # type: ignore[misc]
    """Faust's app, with the member worker stopped before Faust stops its consumer and tables
    (`App.on_stop` is Faust's documented hook for this)."""

    before_stop: Callable[[], Awaitable[None]] | None = None

    async def on_stop(self) -> None:
        if self.before_stop is not None:
            await self.before_stop()
        await super().on_stop()


def bare_app(settings: Settings, id_suffix: str = "") -> WorkerApp:
    """A Faust app with tierflow's settings and its datadir made, nothing declared yet."""
    worker_datadir(settings).mkdir(parents=True, exist_ok=True)
    return WorkerApp(faust_app_id(settings) + id_suffix, **app_settings(settings))


def declare_inputs(app: faust.App, settings: Settings, acks: bool = False) -> Any:
    """One Faust topic over the three input topics. Acks off: Faust's commits never move
    their offsets; the worker's checkpoint does."""
    return app.topic(
        *(settings.topic(name) for name in INPUT_TOPICS),
        partitions=settings.partitions,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        acks=acks,
    )


def rocksdb_options(settings: Settings) -> dict[str, int]:
    """The member table's RocksDB memory, within `table_memory_mb` per worker: each
    partition's database gets an equal share, half block cache, half write buffers (Faust's
    defaults, 2 GiB of cache per partition, let memory grow with the member count), and a
    10-bit bloom filter (a key looked up in a partition that lacks it costs no disk read)."""
    share = settings.table_memory_mb * 1024 * 1024 // settings.partitions
    return {
        "block_cache_size": share // 2,
        "write_buffer_size": share // 4,
        "max_write_buffer_number": 2,
        "bloom_filter_size": 10,
    }


def declare_member_table(app: faust.App, settings: Settings) -> Any:
    """member_id (UTF-8 bytes) -> member record (agents/usecase/member_record.py), on the
    partitions of the member's inputs (co-partitioned); written only by the worker's
    checkpoint, through streams/faust_adapter/table.py."""
    return app.Table(
        MEMBER_TABLE,
        key_type=bytes,
        value_type=bytes,
        partitions=settings.partitions,
        use_partitioner=True,
        options=rocksdb_options(settings),
        help="Each member's rules state and the input offsets it has applied.",
    )


@dataclass(frozen=True, slots=True)
class LiveWorker:
    """What `create_app` built, for the worker command, tests and benches."""

    app: Any
    intake: Any  # streams.faust_adapter.intake.FaustInput
    worker: Any  # agents.worker.loop.MemberWorker


def create_app(settings: Settings) -> faust.App:
    return create_worker(settings).app


def create_worker(settings: Settings) -> LiveWorker:
    """The Faust app with the adapter installed and the worker registered as its agent."""
    from faust.types import TP

    from agents.worker.alignment import EventTimeAligner
    from agents.worker.api import register_member_api
    from agents.worker.checkpoint import Checkpoint
    from agents.worker.loop import MemberWorker, WorkerConfig
    from agents.worker.ticks import register_review_timer
    from schemas.codec import Codec
    from streams.faust_adapter.intake import FaustInput
    from streams.faust_adapter.internals import BulkRecovery, ConsumerHooks, install
    from streams.faust_adapter.outputs import KafkaOutputs
    from streams.faust_adapter.refill import RunReader
    from streams.faust_adapter.table import FaustMemberTable
    from streams.program import load_program

    program = load_program(settings.program)
    codec = Codec(schema_registry_url=settings.schema_registry_url)
    app = bare_app(settings)
    inputs = declare_inputs(app, settings)
    app.topics.add(inputs)  # subscribed although no Faust stream iterates it
    table = declare_member_table(app, settings)
    kinds = {settings.topic(name): name for name in INPUT_TOPICS}

    intake = FaustInput(
        topics=frozenset(kinds),
        runs=RunReader(settings.kafka_client_config()),
        batch_size=settings.batch_size,
        pulse=settings.batch_within,
        highwater=lambda topic, partition: app.consumer.highwater(TP(topic, partition)),
        earliest=lambda tps: app.consumer.earliest_offsets(*tps),
    )
    recovery = BulkRecovery(app, {table.changelog_topic.get_topic_name(): table})

    def take(records: Any, epoch: int) -> Any:
        return recovery.take(intake.take(records, epoch))

    install(
        app,
        ConsumerHooks(
            epoch=intake.epoch_now,
            take=take,
            room=intake.room,
            seeked=intake.seeked,
            fetch_max_wait_ms=round(settings.fetch_max_wait * 1000),
        ),
    )

    async def commit_offsets(offsets: Any) -> bool:
        return bool(
            await app.consumer.commit_offsets({TP(t, p): o for (t, p), o in offsets.items()})
        )

    intake.commit_offsets = commit_offsets
    topic_names = {name: settings.topic(name) for name in TOPIC_NAMES}
    outputs = KafkaOutputs(settings.kafka_client_config(), topic_names, settings.producer_linger)
    members = FaustMemberTable(table, outputs)
    checkpoint = Checkpoint(outputs, members, intake, settings.commit_interval)
    worker = MemberWorker(
        WorkerConfig(program, codec, kinds, topic_names, settings.partitions, settings.batch_size),
        intake,
        members,
        EventTimeAligner(kinds, intake.lag),
        checkpoint,
    )

    @app.task
    async def connect_outputs() -> None:
        topics = [*(settings.topic(name) for name in OUTPUT_TOPICS), members.changelog]
        await asyncio.to_thread(outputs.connect, topics)

    @app.agent(inputs, name="tierflow.members")
    async def member_worker(stream: Any) -> None:
        """The member worker: the adapter feeds it; the Faust stream stays unread."""
        try:
            await worker.run()
        except Exception as error:  # a broken worker must not sit idle: stop, restart
            await app.crash(error)
            raise

    @app.on_partitions_revoked.connect
    async def revoke(sender: Any, revoked: Any, **kwargs: Any) -> None:
        # A new epoch first (no batch of the old one starts its checkpoint), then wait for
        # the one under way: its member records reach the changelog before any partition
        # can move (agents/worker/checkpoint.py).
        intake.revoke()
        await checkpoint.settle()

    async def stop() -> None:
        # The batch under way finishes, its offsets and those waiting are committed; then
        # Faust stops fetching, the tables and the consumer.
        worker.stop()
        epoch = intake.epoch
        intake.close()
        await checkpoint.settle()
        await checkpoint.flush(epoch, force=True)
        outputs.close()
        intake.runs.close()

    app.before_stop = stop

    @app.timer(HEALTH_EVERY, name="tierflow.input_health")
    async def input_health() -> None:
        status = intake.status() | {
            "faust_flow_active": app.consumer.flow_active,
            "rebalancing": app.rebalancing,
        }
        log.info("input_health %s", " ".join(f"{k}={v}" for k, v in status.items()))

    if settings.review_timer:
        register_review_timer(
            app,
            codec,
            settings.topic("review_ticks"),
            settings.partitions,
            program.zone,
            settings.review_interval,
        )
    receipts = settings.topic("receipts")
    register_member_api(
        app,
        program,
        table,
        members,
        lambda partition: (receipts, partition) in intake.assigned,
        settings.partitions,
    )
    return LiveWorker(app, intake, worker)
