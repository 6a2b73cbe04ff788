"""The Faust app of the live path: broker, topics, the member table, and the agents wired in.

`create_app(settings)` builds one app per process (worker, tests, bench). Every topic is raw
bytes on the Faust side: the codec decodes inside the agent, so a bad message becomes a dead
letter instead of crashing the agent (docs/streaming.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust

from streams.settings import TOPIC_NAMES, Settings

MEMBER_TABLE = "members"
INPUT_TOPICS = ("receipts", "member_events", "review_ticks")
OUTPUT_TOPICS = ("ledger", "tier_changes", "notifications", "dead_letters")


@dataclass(frozen=True, slots=True)
class LiveTopics:
    """The Faust topic objects of one app, by contract name."""

    inputs: Any  # one channel over the three input topics (faust.TopicT)
    by_name: dict[str, Any]

    def name(self, contract_name: str) -> str:
        return str(self.by_name[contract_name].get_topic_name())


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
        "processing_guarantee": "exactly_once" if settings.exactly_once else "at_least_once",
        "broker_commit_interval": settings.commit_interval,
        "broker_session_timeout": settings.session_timeout,
        "broker_heartbeat_interval": min(3.0, settings.session_timeout / 5),
        "consumer_auto_offset_reset": "earliest",
        "table_standby_replicas": settings.standby_replicas,
        "producer_linger": settings.producer_linger,
        "producer_acks": -1,
        "autodiscover": False,
        "topic_allow_declare": True,
        # The event-time aligner holds records back unacknowledged (agents/alignment.py);
        # a rebalance must not wait for them: the next owner reads them again.
        "stream_wait_empty": False,
    }


def declare_topics(app: faust.App, settings: Settings) -> LiveTopics:
    raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw"}
    names = [n for n in (*INPUT_TOPICS, *OUTPUT_TOPICS, "members") if n in TOPIC_NAMES]
    by_name = {
        name: app.topic(
            settings.topic(name),
            partitions=settings.partitions,
            value_serializer="raw",
            **raw,
        )
        for name in names
    }
    inputs = app.topic(
        *(settings.topic(name) for name in INPUT_TOPICS),
        partitions=settings.partitions,
        value_serializer="raw",
        acks=True,
        **raw,
    )
    return LiveTopics(inputs=inputs, by_name=by_name)


def declare_member_table(app: faust.App, settings: Settings) -> Any:
    """member_id (UTF-8 bytes) -> member record (agents.member_record), co-partitioned.

    `use_partitioner=True` lets the agent write keys after a `noack_take` batch (no
    "current event"); the producer's murmur2 puts each key on the partition of its inputs.
    """
    return app.Table(
        MEMBER_TABLE,
        key_type=bytes,
        value_type=bytes,
        partitions=settings.partitions,
        use_partitioner=True,
        help="Each member's rules state and the input offsets it has applied.",
    )


def tune_worker_consumer() -> None:
    """Two settings of Faust's worker consumer that Faust does not expose.

    - **read_committed** under at-least-once too. Faust picks `read_committed` only under
      exactly-once (`AIOKafkaConsumerThread._create_worker_consumer`); a POS or CRM system
      that writes receipts in Kafka transactions would otherwise have aborted receipts
      credited. Our changelog is never transactional, so table recovery (which waits for
      the high-water mark) is unaffected.
    - **fetch_max_wait_ms** from `TIERFLOW_FETCH_MAX_WAIT` (`app.tierflow_fetch_max_wait_ms`;
      default 20 ms, where Faust fixes 1,500 ms). aiokafka leaves out of a fetch request
      the partitions whose records the agent has not taken yet, and sends one request per
      broker at a time; a request for idle partitions only (the other input topics, the
      changelog) then waits the whole `fetch_max_wait_ms` on the broker while receipts pile
      up behind it. Seen here: under a steady 2,000 receipts/s a worker that fell behind
      once stayed 1.5 s behind for good with Faust's wait (docs/streaming.md, "Batches";
      docs/benchmarks.md, Pipeline).

    The worker consumer is built before it starts, and aiokafka reads both at `start()`, so
    setting them on the new consumer is enough.
    """
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    original = AIOKafkaConsumerThread._create_worker_consumer
    if getattr(original, "tierflow_tuned", False):
        return

    def create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._isolation_level = "read_committed"
        fetch_max_wait_ms = getattr(self.app, "tierflow_fetch_max_wait_ms", None)
        if fetch_max_wait_ms is not None:
            consumer._fetch_max_wait_ms = fetch_max_wait_ms
        return consumer

    create_worker_consumer.tierflow_tuned = True  # type: ignore[attr-defined]
    AIOKafkaConsumerThread._create_worker_consumer = create_worker_consumer  # type: ignore[method-assign]


def bare_app(settings: Settings, id_suffix: str = "") -> faust.App:
    """A Faust app with tierflow's settings, its worker consumer tuned and its datadir made,
    and nothing declared yet (`create_app`; the bench's bare agent, bench/faust_floor.py)."""
    tune_worker_consumer()
    worker_datadir(settings).mkdir(parents=True, exist_ok=True)
    app = faust.App(faust_app_id(settings) + id_suffix, **app_settings(settings))
    app.tierflow_fetch_max_wait_ms = round(settings.fetch_max_wait * 1000)  # type: ignore[attr-defined]
    return app


def create_app(settings: Settings) -> faust.App:
    """The Faust app with its topics, the member table and the agents registered."""
    from agents.api import register_member_api
    from agents.intake import fence_acks
    from agents.loyalty import register_member_agent
    from agents.ticks import register_review_timer
    from streams.program import load_program

    if not settings.store.startswith("memory://"):
        # The RocksDB store finds a key's partition from Faust's "current event", which a
        # batch written after `noack_take` does not have (docs/streaming.md).
        raise ValueError(f"TIERFLOW_STORE={settings.store!r} is not supported yet; use memory://")
    fence_acks()
    program = load_program(settings.program)
    app = bare_app(settings)
    topics = declare_topics(app, settings)
    table = declare_member_table(app, settings)
    book = register_member_agent(app, settings, program, topics, table)
    register_review_timer(app, settings, program)
    register_member_api(app, program, table)
    app.tierflow_book = book  # type: ignore[attr-defined]
    return app
