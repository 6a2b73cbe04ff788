"""The Faust app's settings come from tierflow's: raw bytes, co-partitioned topics,
at-least-once, a datadir per worker and Kafka security passed through to aiokafka."""

from __future__ import annotations

from pathlib import Path

from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from streams.app import app_settings, faust_app_id, worker_datadir
from streams.settings import Settings


def test_topics_are_raw_bytes_and_partitioned_like_the_inputs() -> None:
    conf = app_settings(Settings(partitions=12, bootstrap_servers="a:9092,b:9093"))
    assert conf["broker"] == ["kafka://a:9092", "kafka://b:9093"]
    assert (conf["key_serializer"], conf["value_serializer"]) == ("raw", "raw")
    assert conf["topic_partitions"] == 12
    assert conf["processing_guarantee"] == "at_least_once"
    assert conf["broker_credentials"] is None


def test_exactly_once_is_refused_naming_the_setting() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="exactly_once") as refused:
        Settings(exactly_once=True)
    assert "at-least-once with idempotent effects" in str(refused.value)


def test_sasl_settings_reach_aiokafka() -> None:
    settings = Settings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="tierflow",
        sasl_password="secret",
    )
    auth = credentials_to_aiokafka_auth(app_settings(settings)["broker_credentials"], None)
    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (auth["sasl_plain_username"], auth["sasl_plain_password"]) == ("tierflow", "secret")


def test_each_worker_of_a_group_has_its_own_datadir() -> None:
    one = Settings(topic_prefix="t1.", web_port=6066, worker_datadir=Path("w"))
    two = one.model_copy(update={"web_port": 6067})
    assert faust_app_id(one) == faust_app_id(two) == "t1.tierflow"
    assert worker_datadir(one) != worker_datadir(two)


def test_the_worker_consumer_reads_committed_and_waits_at_most_fetch_max_wait(
    tmp_path: Path,
) -> None:
    """Faust builds its worker consumer with read_uncommitted (at-least-once) and a fixed
    1,500 ms fetch wait; the app's consumer gets ours, 20 ms by default."""
    import asyncio

    from streams.app import create_app

    async def build(**fields: float) -> tuple[int, str]:
        settings = Settings(
            bootstrap_servers="127.0.0.1:1",  # nothing is contacted: the consumer is not started
            program=Path(__file__).parents[2] / "streams" / "program.example.toml",
            worker_datadir=tmp_path,
            **fields,
        )
        app = create_app(settings)
        consumer = app.consumer.thread._create_worker_consumer(app.transport)
        try:
            return consumer._fetch_max_wait_ms, consumer._isolation_level
        finally:
            await consumer.stop()

    assert asyncio.run(build(fetch_max_wait=0.033)) == (33, "read_committed")
    assert asyncio.run(build()) == (20, "read_committed")  # the default, not Faust's 1,500


def test_the_member_changelog_topic_is_the_one_topics_create_makes(tmp_path: Path) -> None:
    from streams.app import create_worker

    settings = Settings(
        bootstrap_servers="127.0.0.1:1",
        topic_prefix="t9.",
        program=Path(__file__).parents[2] / "streams" / "program.example.toml",
        worker_datadir=tmp_path,
    )
    live = create_worker(settings)
    assert live.io.members.changelog == settings.member_changelog == "t9.tierflow-members-changelog"
