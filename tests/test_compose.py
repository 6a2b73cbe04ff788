"""docker-compose.yml runs Apache Kafka (official image, the embedded broker's version) and
tierflow's topics, worker, sink and one-shot simulator from the repo's Dockerfile, all
pointed at that Kafka. Docker is not needed: the file is parsed and checked."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.broker import POM
from streams.broker.jars import pom_kafka_version
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_kafka_is_the_official_image_at_the_embedded_brokers_version(
    compose: dict[str, Any],
) -> None:
    kafka = compose["services"]["kafka"]
    assert kafka["image"] == f"apache/kafka:{pom_kafka_version(POM)}"
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == 1
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == 1
    assert len(base64.urlsafe_b64decode(env["CLUSTER_ID"] + "==")) == 16
    assert "kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "healthcheck" in kafka


@pytest.mark.parametrize(
    ("service", "command"),
    [
        ("topics", ["tierflow", "topics", "create"]),
        ("worker", ["tierflow", "worker"]),
        ("sink", ["tierflow", "sink"]),
    ],
)
def test_tierflow_services_run_their_command_from_the_repo_image(
    compose: dict[str, Any], service: str, command: list[str]
) -> None:
    spec = compose["services"][service]
    assert spec["build"] == "."
    assert spec["command"] == command


def test_the_simulator_produces_once_after_the_topics_exist(compose: dict[str, Any]) -> None:
    simulator = compose["services"]["simulator"]
    assert simulator["command"][:3] == ["tierflow", "simulate", "--produce"]
    assert simulator["restart"] == "no"
    assert simulator["depends_on"]["topics"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("service", ["topics", "worker", "sink", "simulator"])
def test_every_tierflow_service_reads_valid_settings_pointing_at_the_kafka_service(
    compose: dict[str, Any], service: str
) -> None:
    env = compose["services"][service]["environment"]
    assert all(name.startswith("TIERFLOW_") for name in env)
    settings = Settings(**{name.removeprefix("TIERFLOW_").lower(): v for name, v in env.items()})
    assert settings.bootstrap == "kafka:9092"
    assert settings.partitions == 8


def test_the_dockerfile_installs_the_package_and_copies_its_sources() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    for package in ("streams", "schemas", "agents", "sink"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert "RUN pip install ." in dockerfile
