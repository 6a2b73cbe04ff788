"""`tierflow topics create`: the contract's topics with the configured partitions and
retention, idempotently; a partition-count mismatch is an error that says so."""

from __future__ import annotations

import socket
import time
import uuid
from typing import Any

import pytest
from typer.testing import CliRunner

from streams.broker.topics import TopicError, create_topics
from streams.settings import TOPIC_NAMES, Settings


def _describe(settings: Settings, topic: str, key: str = "retention.ms") -> tuple[int, str]:
    """(partition count, a config value) of a topic as the broker reports them."""
    from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

    admin = AdminClient(settings.kafka_client_config())
    partitions = len(admin.list_topics(topic, timeout=30).topics[topic].partitions)
    resource = ConfigResource(ResourceType.TOPIC, topic)
    configs = admin.describe_configs([resource])[resource].result(timeout=30)
    return partitions, configs[key].value


@pytest.mark.integration
def test_every_contract_topic_gets_the_configured_partitions_and_retention(
    tierflow_settings: Any,
) -> None:
    settings = tierflow_settings(partitions=8)
    for name in TOPIC_NAMES:
        assert _describe(settings, settings.topic(name)) == (8, "-1")
        policy = "compact" if name == "members" else "delete"
        assert _describe(settings, settings.topic(name), "cleanup.policy") == (8, policy)


@pytest.mark.integration
def test_creating_the_topics_again_changes_nothing(tierflow_settings: Any) -> None:
    settings = tierflow_settings(partitions=4)
    again = create_topics(settings)
    contract = [settings.topic(name) for name in TOPIC_NAMES]
    assert [topic.name for topic in again] == [*contract, settings.member_changelog]
    assert {(topic.partitions, topic.created) for topic in again} == {(4, False)}


@pytest.mark.integration
def test_an_existing_topic_with_another_partition_count_is_an_error(
    tierflow_settings: Any,
) -> None:
    settings = tierflow_settings(partitions=3)
    with pytest.raises(TopicError) as caught:
        create_topics(settings.model_copy(update={"partitions": 8}))
    assert caught.value.code == "partition_mismatch"
    assert f"{settings.topic('receipts')} has 3" in caught.value.message
    assert "other than the 8 configured" in caught.value.message


@pytest.mark.integration
def test_the_cli_creates_the_topics_under_the_prefix(
    kafka_broker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streams.cli import app

    prefix = f"cli{uuid.uuid4().hex[:8]}."
    monkeypatch.setenv("TIERFLOW_BOOTSTRAP_SERVERS", kafka_broker.bootstrap_servers)
    result = CliRunner().invoke(app, ["topics", "create", "--prefix", prefix, "--partitions", "2"])
    assert result.exit_code == 0, result.output
    assert f"created {prefix}pos.receipts (2 partitions)" in result.output
    rerun = CliRunner().invoke(app, ["topics", "create", "--prefix", prefix, "--partitions", "2"])
    assert f"exists  {prefix}loyalty.ledger (2 partitions)" in rerun.output


def test_an_unreachable_cluster_is_reported_quickly() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = Settings(bootstrap_servers=f"127.0.0.1:{closed_port}")
    began = time.monotonic()
    with pytest.raises(TopicError) as caught:
        create_topics(settings)
    assert caught.value.code == "unreachable"
    assert time.monotonic() - began < 15
