"""Shared fixtures: one real Kafka broker for the whole run, and settings with fresh topics.

`kafka_broker` (session) yields a broker, in this order of preference: the cluster that
TIERFLOW_BOOTSTRAP_SERVERS names; a Kafka container, if a Docker engine answers; else the
embedded broker on a test port and home of its own (a user's broker on 19092 is untouched).
A broker that cannot start fails the tests that need it: integration tests never skip.
`tierflow_settings(partitions=8, **overrides)` makes Settings with a unique topic prefix and
the contract's topics created, so tests never see each other's messages.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_BROKER_HOME = REPO / ".tierflow" / "test-broker"
KAFKA_JARS = REPO / ".tierflow" / "kafka" / "libs"
# Another checkout's test run on this machine needs other ports (its home differs).
TEST_BROKER_PORT = int(os.environ.get("TIERFLOW_TEST_BROKER_PORT", "19192"))
TEST_CONTROLLER_PORT = TEST_BROKER_PORT + 1
# testcontainers' Kafka module drives Confluent's image; 8.0 is Apache Kafka 4.0.
CONTAINER_IMAGE = os.environ.get("TIERFLOW_TEST_KAFKA_IMAGE", "confluentinc/cp-kafka:8.0.0")


@dataclass(frozen=True)
class KafkaBroker:
    """The broker the tests talk to."""

    bootstrap_servers: str
    embedded: bool
    description: str


def embedded_test_settings(**overrides: Any) -> Any:
    """Settings for an embedded broker of the tests (own home and ports, shared jars)."""
    from streams.settings import Settings

    fields: dict[str, Any] = {
        "bootstrap_servers": None,
        "home": TEST_BROKER_HOME,
        "kafka_jars": KAFKA_JARS,
        "broker_port": TEST_BROKER_PORT,
        "controller_port": TEST_CONTROLLER_PORT,
        "security_protocol": "PLAINTEXT",
        "sasl_mechanism": None,
        "sasl_username": None,
        "sasl_password": None,
        "broker_start_timeout": 90.0,
    }
    return Settings(**(fields | overrides))


def _docker_answers() -> bool:
    try:
        import docker

        return bool(docker.from_env(timeout=2).ping())
    except Exception:  # no SDK, no socket, no daemon: no Docker
        return False


def _fail(reason: str) -> None:
    ci = os.environ.get("CI", "").lower() == "true"
    pytest.fail(
        f"no Kafka broker for the integration tests{' (CI=true)' if ci else ''}: {reason}",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def kafka_broker(request: pytest.FixtureRequest) -> Iterator[KafkaBroker]:
    from streams.settings import Settings

    configured = Settings().bootstrap_servers
    if configured:
        _report(request, f"Kafka at TIERFLOW_BOOTSTRAP_SERVERS={configured}")
        yield KafkaBroker(configured, False, f"external cluster {configured}")
        return
    if _docker_answers():
        yield from _container_broker(request)
        return
    yield from _embedded_broker(request)


def _container_broker(request: pytest.FixtureRequest) -> Iterator[KafkaBroker]:
    from testcontainers.community.kafka import KafkaContainer

    # The module sets only the offsets topic to one replica; transactions need these too.
    one_node = {
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_LOG_MESSAGE_TIMESTAMP_BEFORE_MAX_MS": str(2**63 - 1),
        "KAFKA_LOG_RETENTION_MS": "-1",
    }
    try:
        container = KafkaContainer(CONTAINER_IMAGE).with_kraft()
        for name, value in one_node.items():
            container.with_env(name, value)
        container.start(timeout=120)
    except Exception as error:
        _fail(f"the Kafka container {CONTAINER_IMAGE} did not start: {error}")
        raise
    bootstrap = container.get_bootstrap_server()
    _report(request, f"Kafka container {CONTAINER_IMAGE} at {bootstrap}")
    try:
        yield KafkaBroker(bootstrap, False, f"container {CONTAINER_IMAGE}")
    finally:
        container.stop()


def _embedded_broker(request: pytest.FixtureRequest) -> Iterator[KafkaBroker]:
    from streams.broker.embedded import BrokerError, broker_status, start_broker, stop_broker

    settings = embedded_test_settings()
    # Several pytest runs may share this tree (and so this broker) at once: each holds a
    # lease, and the last one out stops the broker. A fresh start wipes old runs' topics.
    with _leases(settings.home) as leases:
        reuse = bool(leases) or broker_status(settings).running
        try:
            broker = start_broker(settings, reset=not reuse)
        except BrokerError as error:
            _fail(str(error))
        (settings.home / "leases" / str(os.getpid())).touch()
    _report(
        request,
        f"embedded Apache Kafka {broker.kafka_version} at {broker.bootstrap_servers} "
        f"(pid {broker.pid}, {'reused' if broker.reused else 'started'} in {broker.seconds:.1f} s)",
    )
    try:
        yield KafkaBroker(broker.bootstrap_servers, True, f"embedded Kafka {broker.kafka_version}")
    finally:
        with _leases(settings.home) as leases:
            (settings.home / "leases" / str(os.getpid())).unlink(missing_ok=True)
            if leases == [os.getpid()]:
                stop_broker(settings)


@contextlib.contextmanager
def _leases(home: Path) -> Iterator[list[int]]:
    """Under a lock, the pids of live pytest runs using the test broker (dead ones pruned)."""
    import psutil

    folder = home / "leases"
    folder.mkdir(parents=True, exist_ok=True)
    with (home / "leases.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        live = []
        for lease in folder.iterdir():
            if lease.name.isdigit() and psutil.pid_exists(int(lease.name)):
                live.append(int(lease.name))
            else:
                lease.unlink(missing_ok=True)
        yield sorted(live)


@pytest.fixture(scope="session")
def kafka_jars() -> Path:
    """The Kafka jars, fetched once (a no-op when `make` already did)."""
    from streams.broker.embedded import BrokerError
    from streams.broker.jars import fetch

    try:
        return fetch(KAFKA_JARS, KAFKA_JARS.parent / ".fetched").jars
    except BrokerError as error:
        _fail(str(error))
        raise


@pytest.fixture
def embedded_settings(kafka_jars: Path, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """A factory of Settings for a private embedded broker: its own home under tmp_path and
    free ports. The test stops what it starts; this fixture stops it too if the test failed."""
    from streams.broker.embedded import stop_broker

    made: list[Any] = []

    def make(**overrides: Any) -> Any:
        client_port, controller_port = _free_ports(2)
        fields = {
            "home": tmp_path / f"home{len(made)}",
            "broker_port": client_port,
            "controller_port": controller_port,
        }
        settings = embedded_test_settings(**(fields | overrides))
        made.append(settings)
        return settings

    yield make
    for settings in made:
        stop_broker(settings)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def _report(request: pytest.FixtureRequest, line: str) -> None:
    request.config.stash[_BROKER_LINE] = line
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"\nkafka_broker: {line}")


_BROKER_LINE = pytest.StashKey[str]()


@pytest.fixture
def tierflow_settings(kafka_broker: KafkaBroker) -> Callable[..., Any]:
    """A factory: `tierflow_settings(partitions=8, **overrides) -> Settings`, topics created."""
    from streams.broker.topics import create_topics
    from streams.settings import Settings

    def make(partitions: int = 8, **overrides: Any) -> Settings:
        fields: dict[str, Any] = {
            "bootstrap_servers": kafka_broker.bootstrap_servers,
            "topic_prefix": f"t{uuid.uuid4().hex[:8]}.",
            "partitions": partitions,
        }
        if kafka_broker.embedded:
            fields |= {"security_protocol": "PLAINTEXT", "sasl_mechanism": None}
        settings = Settings(**(fields | overrides))
        create_topics(settings)
        return settings

    return make


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say plainly how many integration tests talked to which broker."""
    passed = [r for r in terminalreporter.stats.get("passed", []) if "integration" in r.keywords]
    failed = [r for r in terminalreporter.stats.get("failed", []) if "integration" in r.keywords]
    line = config.stash.get(_BROKER_LINE, None)
    if line is not None:
        terminalreporter.write_line(
            f"integration tests: {len(passed)} passed, {len(failed)} failed against {line}"
        )
