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
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import faust

from streams.settings import TOPIC_NAMES, Settings

log = logging.getLogger("tierflow.app")

HEALTH_EVERY = 10.0  # seconds between the input health lines
# Seconds without a turn of the worker loop or Faust's fetch loop before /healthz says
# "stalled": longer than a checkpoint may wait for a broker that is away (its producer's
# delivery timeout), so a liveness probe does not restart a worker that only waits.
STALLED_AFTER = 150.0
MEMBER_TABLE = "members"
INPUT_TOPICS = ("receipts", "member_events", "review_ticks")
OUTPUT_TOPICS = ("ledger", "tier_changes", "notifications", "dead_letters", "members")


def faust_app_id(settings: Settings) -> str:
    """The consumer group and changelog prefix; the topic prefix keeps test runs apart."""
    return settings.worker_group


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


def create_app(settings: Settings) -> faust.App:
    return create_worker(settings).app


def create_worker(settings: Settings) -> LiveWorker:
    """The Faust app with the adapter installed and the member worker as its agent."""
    from agents.worker.alignment import EventTimeAligner
    from agents.worker.checkpoint import Checkpoint
    from agents.worker.loop import MemberWorker, WorkerConfig
    from streams.faust_adapter import AdapterConfig, adapt
    from streams.program import load_program

    program = load_program(settings.program)
    codec = settings.codec()
    app = bare_app(settings)
    inputs = declare_inputs(app, settings)
    app.topics.add(inputs)  # subscribed although no Faust stream iterates it
    table = declare_member_table(app, settings)
    kinds = {settings.topic(name): name for name in INPUT_TOPICS}
    topic_names = {name: settings.topic(name) for name in TOPIC_NAMES}
    io = adapt(
        app,
        table,
        AdapterConfig(
            input_topics=frozenset(kinds),
            topic_names=topic_names,
            client_config=settings.kafka_client_config(),
            batch_size=settings.batch_size,
            pulse=settings.batch_within,
            fetch_max_wait_ms=round(settings.fetch_max_wait * 1000),
            linger=settings.producer_linger,
        ),
    )
    checkpoint = Checkpoint(io.outputs, io.members, io.intake, settings.commit_interval)
    worker = MemberWorker(
        WorkerConfig(program, codec, kinds, topic_names, settings.partitions, settings.batch_size),
        io.intake,
        io.members,
        EventTimeAligner(kinds, io.intake.lag),
        checkpoint,
    )
    live = LiveWorker(app, io, worker, checkpoint, settings)
    live.register(inputs, table, program, codec)
    return live


class LiveWorker:
    """The worker's parts, and how they hang on the Faust app: the agent that runs the
    worker loop, the revoke and stop hooks, the timers and the member API."""

    def __init__(self, app: Any, io: Any, worker: Any, checkpoint: Any, settings: Settings) -> None:
        self.app = app
        self.io = io  # streams.faust_adapter.Adapter
        self.intake = io.intake
        self.worker = worker  # agents.worker.loop.MemberWorker
        self.checkpoint = checkpoint
        self.settings = settings

    def register(self, inputs: Any, table: Any, program: Any, codec: Any) -> None:
        from agents.worker.api import register_member_api
        from agents.worker.ticks import register_review_timer
        from streams.metrics import register_operations

        app, settings = self.app, self.settings
        app.agent(inputs, name="tierflow.members")(self.run_worker)
        app.on_partitions_revoked.connect(self.revoke)
        app.before_stop = self.stop
        app.task(self.connect_outputs)
        app.timer(HEALTH_EVERY, name="tierflow.input_health")(self.log_input_health)
        if settings.review_timer:
            register_review_timer(
                app,
                codec,
                settings.topic("review_ticks"),
                settings.partitions,
                program.zone,
                settings.review_interval,
            )
        register_member_api(app, program, table, self.io.members, self.serving, settings.partitions)
        register_operations(app, self)

    async def run_worker(self, stream: Any) -> None:
        """The member agent: the adapter feeds the worker; the Faust stream stays unread."""
        try:
            await self.worker.run()
        except Exception as error:  # a broken worker must not sit idle: stop, restart
            await self.app.crash(error)
            raise

    async def revoke(self, sender: Any, revoked: Any, **kwargs: Any) -> None:
        """A rebalance: a new epoch first (no batch of the old one starts its checkpoint),
        then wait for the one under way: its member records reach the changelog before any
        partition can move (agents/worker/checkpoint.py)."""
        self.io.revoke()
        await self.checkpoint.settle()

    async def stop(self) -> None:
        """Before Faust stops fetching, the tables and the consumer: the batch under way
        finishes, and its offsets and those waiting are committed."""
        self.worker.stop()
        epoch = self.intake.epoch
        self.intake.close()
        await self.checkpoint.settle()
        await self.checkpoint.flush(epoch, force=True)
        self.io.close()

    async def connect_outputs(self) -> None:
        names = [*(self.settings.topic(name) for name in OUTPUT_TOPICS), self.io.members.changelog]
        await asyncio.to_thread(self.io.outputs.connect, names)

    async def log_input_health(self) -> None:
        status = self.intake.status() | {
            "faust_flow_active": self.app.consumer.flow_active,
            "rebalancing": self.app.rebalancing,
        }
        log.info("input_health %s", " ".join(f"{k}={v}" for k, v in status.items()))

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Alive: the worker loop and Faust's fetch loop have both turned lately."""
        loop_age = time.monotonic() - self.worker.stats.last_turn
        fetch_age = time.monotonic() - self.intake.last_fetch
        alive = loop_age < STALLED_AFTER and fetch_age < STALLED_AFTER
        body = {
            "status": "ok" if alive else "stalled",
            "worker_loop_age_s": round(loop_age, 1),
            "fetch_loop_age_s": round(fetch_age, 1),
        }
        return alive, body

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Ready: input partitions assigned, their tables recovered, lag within the bound."""
        assigned = sorted(self.intake.assigned)
        lags = [self.intake.lag(topic, partition) for topic, partition in assigned]
        known = [lag for lag in lags if lag is not None]
        lag = sum(known)
        remaining = self.recovery_remaining()
        reasons = []
        if not assigned:
            reasons.append("no input partitions assigned (or a rebalance under way)")
        if remaining:
            reasons.append(f"{remaining} changelog records still to recover")
        if lag > self.settings.ready_max_lag:
            reasons.append(f"lag {lag} above {self.settings.ready_max_lag}")
        body = {
            "ready": not reasons,
            "assigned_partitions": len(assigned),
            "lag": lag,
            "recovery_remaining": remaining,
            "reasons": reasons,
        }
        return not reasons, body

    def recovery_remaining(self) -> int:
        from streams.faust_adapter.internals import recovery_remaining

        return recovery_remaining(self.app)

    def last_commit_unix(self) -> float:
        return float(self.checkpoint.last_commit_at)

    def serving(self, partition: int) -> bool:
        """Whether this worker's copy of a member partition is recovered and current."""
        return (self.settings.topic("receipts"), partition) in self.intake.assigned
