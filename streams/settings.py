"""tierflow's settings: one pydantic-settings class, read from `TIERFLOW_*` variables and flags.

Every process (worker, sink, CLI, tests) builds one `Settings` and passes it down; no module
reads `os.environ` on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from schemas.codec import Codec

TOPIC_NAMES = {
    "receipts": "pos.receipts",
    "member_events": "loyalty.member-events",
    "ledger": "loyalty.ledger",
    "tier_changes": "loyalty.tier-changes",
    "notifications": "loyalty.notifications",
    "dead_letters": "loyalty.dead-letters",
    "review_ticks": "loyalty.review-ticks",
    "members": "loyalty.members",
}
# The topic each record is written to (one record type per topic).
RECORD_TOPICS = {
    "Receipt": "receipts",
    "MemberEvent": "member_events",
    "LedgerEntry": "ledger",
    "TierChange": "tier_changes",
    "Notification": "notifications",
    "DeadLetter": "dead_letters",
    "ReviewTick": "review_ticks",
    "MemberSnapshot": "members",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIERFLOW_", extra="ignore")

    # Kafka: an existing cluster, or None to use the embedded broker.
    bootstrap_servers: str | None = None
    security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    schema_registry_url: str | None = None
    schema_subject_naming: Literal["topic", "record", "topic_record"] = Field(
        default="topic",
        description="registry subjects: topic = <topic>-value (Confluent's default), record = "
        "the record's full name, topic_record = <topic>-<full name>",
    )

    # The embedded broker (Apache Kafka in KRaft combined mode, run from Maven-fetched jars).
    home: Path = Field(default=Path(".tierflow"), description="state folder: jars, broker data")
    broker_port: int = Field(default=19092, ge=1, le=65535)
    controller_port: int = Field(default=19093, ge=1, le=65535)
    broker_start_timeout: float = Field(default=60.0, gt=0)
    broker_stop_timeout: float = Field(default=30.0, gt=0, description="then SIGKILL")
    broker_heap: str = Field(default="1g", pattern=r"^[0-9]+[kmgKMG]$", description="-Xmx")
    kafka_jars: Path | None = Field(default=None, description="default <home>/kafka/libs")

    # Topics.
    topic_prefix: str = ""
    partitions: int = Field(default=8, ge=1, le=1024)
    retention_ms: int = Field(default=-1, ge=-1, description="-1 keeps history forever")

    # The program file and the analytics store.
    program: Path = Path("streams/program.example.toml")
    duckdb: Path = Field(
        default=Path("data/tierflow.ducklake"),
        description="the analytics store: a DuckLake catalog (*.ducklake; Parquet files in "
        "*.ducklake.files/), read while the sink writes; any other name: one DuckDB file",
    )

    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: key=value lines for people; json: one JSON object per line",
    )

    # The Faust worker.
    app_id: str = "tierflow"
    web_port: int = Field(default=6066, ge=1, le=65535)
    worker_datadir: Path = Path(".tierflow/worker")
    store: str = Field(
        default="rocksdb://",
        pattern=r"^(rocksdb|memory)://",
        description="the member table's store: rocksdb:// (on disk, survives restarts) or "
        "memory:// (rebuilt from the changelog at every start)",
    )
    table_memory_mb: int = Field(
        default=512,
        ge=16,
        description="memory for the member table's RocksDB caches and write buffers, per worker",
    )
    commit_interval: float = Field(
        default=0.1, gt=0, description="seconds between input offset commits (at most)"
    )
    exactly_once: bool = Field(
        default=False,
        description="not supported: the worker is at-least-once with idempotent effects "
        "(docs/streaming.md, Delivery)",
    )
    web_host: str = Field(default="127.0.0.1", description="the host other workers route to")
    standby_replicas: int = Field(default=0, ge=0, description="warm table copies per partition")
    batch_size: int = Field(default=5000, ge=1, description="input records per batch, at most")
    batch_within: float = Field(
        default=0.05,
        gt=0,
        description="seconds without input after which the worker looks at held input again",
    )
    ready_max_lag: int = Field(
        default=10_000,
        ge=0,
        description="a worker is ready (GET /readyz) while its input lag is at most this",
    )
    # The sink's operations endpoints (/metrics, /healthz, /readyz).
    sink_port: int = Field(
        default=6067, ge=0, le=65535, description="the sink's operations port (0: none)"
    )
    sink_bind: str = Field(default="0.0.0.0", description="the address the sink's port binds")
    sink_ready_max_lag: int = Field(
        default=50_000,
        ge=0,
        description="the sink is ready (GET /readyz) while its lag over all topics is at most "
        "this (its batches hold up to 20,000 messages)",
    )
    review_timer: bool = Field(default=True, description="the leader publishes review ticks")
    review_interval: float = Field(default=60.0, gt=0, description="seconds between checks")
    producer_linger: float = Field(default=0.005, ge=0, description="seconds")
    fetch_max_wait: float = Field(
        default=0.02,
        gt=0,
        le=30,
        description="seconds a fetch may wait on the broker for data (Faust fixes 1.5 s)",
    )
    session_timeout: float = Field(
        default=15.0, gt=0, description="seconds before a silent worker's partitions move"
    )

    @field_validator("exactly_once")
    @classmethod
    def _at_least_once(cls, value: bool) -> bool:
        if value:
            raise ValueError(
                "exactly-once is not supported: the worker commits input offsets itself, "
                "at-least-once with idempotent effects (outputs carry stable ids); unset it"
            )
        return value

    @field_validator("topic_prefix")
    @classmethod
    def _prefix_is_a_topic_name_part(cls, value: str) -> str:
        allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        if not set(value) <= allowed:
            raise ValueError("may hold only letters, digits, '.', '_' and '-'")
        return value

    def topic(self, name: str) -> str:
        """The full topic name of a contract topic ('receipts', 'ledger', ...)."""
        return self.topic_prefix + TOPIC_NAMES[name]

    def codec(self) -> Codec:
        """The wire codec these settings ask for: single-object encoding, or the Confluent
        framing through the schema registry with subjects named by `schema_subject_naming`."""
        from schemas.codec import Codec, subject_name

        subjects = {
            record: subject_name(self.schema_subject_naming, self.topic(topic), record)
            for record, topic in RECORD_TOPICS.items()
        }
        return Codec(schema_registry_url=self.schema_registry_url, subjects=subjects)

    @property
    def worker_group(self) -> str:
        """The workers' consumer group and Faust app id; the topic prefix keeps runs apart."""
        return self.topic_prefix + self.app_id

    @property
    def member_changelog(self) -> str:
        """The member table's changelog topic (Faust's name for it: app id, table, suffix)."""
        return f"{self.worker_group}-members-changelog"

    @property
    def bootstrap(self) -> str:
        return self.bootstrap_servers or f"127.0.0.1:{self.broker_port}"

    def as_env(self) -> dict[str, str]:
        """These settings as `TIERFLOW_*` variables, for the child processes of `tierflow demo`
        and the tests (so a worker or sink started as a subprocess sees the same settings)."""
        env: dict[str, str] = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            elif isinstance(value, bool):
                value = "true" if value else "false"
            env[f"TIERFLOW_{name.upper()}"] = str(value)
        return env

    def kafka_client_config(self) -> dict[str, Any]:
        """librdkafka (confluent-kafka) settings: bootstrap plus security, passed through."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            config["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username is not None:
            config["sasl.username"] = self.sasl_username
        if self.sasl_password is not None:
            config["sasl.password"] = self.sasl_password.get_secret_value()
        if self.ssl_cafile is not None:
            config["ssl.ca.location"] = str(self.ssl_cafile)
        return config
