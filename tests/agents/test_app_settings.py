"""The Faust app's settings come from tierflow's: raw bytes, co-partitioned topics, the
delivery mode, a datadir per worker and Kafka security passed through to aiokafka."""

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


def test_exactly_once_is_faust_transactions_when_asked() -> None:
    assert app_settings(Settings(exactly_once=True))["processing_guarantee"] == "exactly_once"


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
