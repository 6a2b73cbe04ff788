"""The contract's Kafka topics: create them with the configured partitions and retention, once.

Inputs and the worker's tables are co-partitioned by member_id, so an existing topic with a
different partition count is an error, never silently accepted.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from streams.settings import TOPIC_NAMES, Settings

ADMIN_TIMEOUT_S = 30.0


class TopicError(Exception):
    """A topic that cannot be made as the settings ask. Codes: partition_mismatch,
    create_failed, unreachable, authentication_failed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


@dataclass(frozen=True, slots=True)
class Topic:
    """One contract topic as it stands after `create_topics`."""

    name: str
    partitions: int
    created: bool


def create_topics(
    settings: Settings, names: Iterable[str] = TOPIC_NAMES, changelog: bool = True
) -> list[Topic]:
    """Make sure every named contract topic (and the member table's changelog) exists with
    settings.partitions partitions.

    Idempotent: existing topics with the right partition count are left as they are; new
    ones get retention.ms = settings.retention_ms. Returns once every topic has a leader for
    each partition, so a producer right after never meets an unknown topic, and a worker's
    group assignment never misses the changelog (Faust would create it at the worker's
    start, and a group joined before its metadata reached the consumer ignored it).
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    from streams.broker.embedded import broker_problem

    problem = broker_problem(settings, timeout=10.0)
    if problem is not None and problem.startswith("refused credentials"):
        raise TopicError(
            "authentication_failed",
            f"the broker at {settings.bootstrap} {problem}; check TIERFLOW_SECURITY_PROTOCOL, "
            "TIERFLOW_SASL_MECHANISM, TIERFLOW_SASL_USERNAME and TIERFLOW_SASL_PASSWORD",
        )
    if problem is not None:
        raise TopicError(
            "unreachable",
            f"Kafka at {settings.bootstrap} does not answer a metadata request within 10 s. "
            "Start the embedded broker (`tierflow broker start`) or check "
            "TIERFLOW_BOOTSTRAP_SERVERS and the security settings.",
        )
    admin = AdminClient(settings.kafka_client_config())
    wanted = [settings.topic(name) for name in names]
    if changelog:
        wanted.append(settings.member_changelog)
    existing = _partition_counts(admin, wanted)
    _check_partitions(existing, settings.partitions)
    missing = [name for name in wanted if name not in existing]
    created: set[str] = set()
    if missing:
        # replication_factor -1: the cluster's default.replication.factor (1 on the embedded
        # broker, the operator's choice on a real cluster).
        new = [
            NewTopic(name, settings.partitions, -1, config=topic_config(settings, name))
            for name in missing
        ]
        futures = admin.create_topics(new, request_timeout=ADMIN_TIMEOUT_S)
        for name, future in futures.items():
            try:
                future.result(timeout=ADMIN_TIMEOUT_S)
                created.add(name)
            except KafkaException as error:
                kafka_error = error.args[0]
                if kafka_error.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise TopicError(
                        "create_failed", f"cannot create topic {name}: {kafka_error.str()}"
                    ) from error
    counts = _wait_for_leaders(admin, wanted)
    _check_partitions(counts, settings.partitions)
    return [Topic(name, counts[name], name in created) for name in wanted]


INPUTS = ("receipts", "member_events", "review_ticks")
ANY_TIME = str(2**63 - 1)  # ms: no bound


def topic_config(settings: Settings, topic: str) -> dict[str, str]:
    """A new topic's configuration: history kept per settings.retention_ms, except the
    member snapshots and the member table's changelog, which are compacted (the last
    record per member is the truth).

    Input records carry their business time (`occurred_at`) as record timestamp, and a
    backfill or a POS that was offline sends old times; so the input topics accept any
    record timestamp, whatever the broker's `log.message.timestamp.*.max.ms` defaults (Kafka
    4 refuses records more than an hour ahead of its clock by default)."""
    config = {"retention.ms": str(settings.retention_ms)}
    if topic in (settings.topic("members"), settings.member_changelog):
        config["cleanup.policy"] = "compact"
    if topic in {settings.topic(name) for name in INPUTS}:
        config["message.timestamp.type"] = "CreateTime"
        config["message.timestamp.before.max.ms"] = ANY_TIME
        config["message.timestamp.after.max.ms"] = ANY_TIME
    return config


def _partition_counts(admin: Any, names: list[str]) -> dict[str, int]:
    """Partition counts of those of `names` that exist (and whose metadata is complete)."""
    from confluent_kafka import KafkaException

    try:
        metadata = admin.list_topics(timeout=ADMIN_TIMEOUT_S)
    except KafkaException as error:
        raise TopicError(
            "unreachable",
            f"Kafka did not answer a metadata request within {ADMIN_TIMEOUT_S:g} s: {error}. "
            "Is the broker running (`tierflow broker status`)?",
        ) from error
    return {
        name: len(metadata.topics[name].partitions)
        for name in names
        if name in metadata.topics and metadata.topics[name].error is None
    }


def _check_partitions(counts: dict[str, int], expected: int) -> None:
    wrong = {name: count for name, count in counts.items() if count != expected}
    if wrong:
        listing = ", ".join(f"{name} has {count}" for name, count in sorted(wrong.items()))
        raise TopicError(
            "partition_mismatch",
            f"existing topics have a partition count other than the {expected} configured "
            f"(TIERFLOW_PARTITIONS): {listing}. Inputs and tables must be co-partitioned: set "
            "TIERFLOW_PARTITIONS to match, or delete those topics (or use another "
            "TIERFLOW_TOPIC_PREFIX).",
        )


def _wait_for_leaders(admin: Any, names: list[str]) -> dict[str, int]:
    deadline = time.monotonic() + ADMIN_TIMEOUT_S
    while True:
        metadata = admin.list_topics(timeout=ADMIN_TIMEOUT_S)
        ready = {
            name: len(metadata.topics[name].partitions)
            for name in names
            if name in metadata.topics
            and metadata.topics[name].error is None
            and metadata.topics[name].partitions
            and all(p.leader >= 0 for p in metadata.topics[name].partitions.values())
        }
        if len(ready) == len(names):
            return ready
        if time.monotonic() > deadline:
            absent = sorted(set(names) - set(ready))
            raise TopicError(
                "create_failed",
                f"topics without a leader after {ADMIN_TIMEOUT_S:g} s: {', '.join(absent)}",
            )
        time.sleep(0.1)
