"""The embedded broker's config, cluster id, data-folder checks and failure reading: pure
functions, no JVM."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from streams.broker import POM, BrokerError
from streams.broker.config import (
    BrokerFiles,
    check_data_folder,
    classify_failure,
    format_arguments,
    new_cluster_id,
    render_properties,
)
from streams.broker.jars import is_fetched, pom_kafka_version
from streams.settings import Settings


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(**({"home": tmp_path, "bootstrap_servers": None} | overrides))


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key: value for key, value in pairs if not key.startswith("#")}


def test_one_node_settings_make_transactions_work_and_keep_old_history(tmp_path: Path) -> None:
    settings = _settings(tmp_path, broker_port=19500, controller_port=19501)
    files = BrokerFiles.of(settings)
    config = _properties(render_properties(settings, files))
    assert config["process.roles"] == "broker,controller"
    assert config["listeners"] == "PLAINTEXT://127.0.0.1:19500,CONTROLLER://127.0.0.1:19501"
    assert config["controller.quorum.voters"] == "1@127.0.0.1:19501"
    assert config["log.dirs"] == str(files.data)
    for one in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
    ):
        assert config[one] == "1"
    assert config["group.initial.rebalance.delay.ms"] == "0"
    assert int(config["log.message.timestamp.before.max.ms"]) == 2**63 - 1
    assert config["log.retention.ms"] == "-1"


def test_files_live_under_home_and_jars_may_be_shared(tmp_path: Path) -> None:
    files = BrokerFiles.of(_settings(tmp_path, kafka_jars=tmp_path / "shared" / "libs"))
    assert files.data == tmp_path.resolve() / "broker" / "data"
    assert files.stamp == tmp_path.resolve() / "shared" / ".fetched"


def test_plain_sasl_adds_the_user_to_the_client_listener(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="pos",
        sasl_password=SecretStr("pw-1"),
    )
    config = _properties(render_properties(settings, BrokerFiles.of(settings)))
    assert config["listeners"].startswith("SASL_PLAINTEXT://127.0.0.1:")
    jaas = config["listener.name.sasl_plaintext.plain.sasl.jaas.config"]
    assert 'user_pos="pw-1"' in jaas
    assert "--add-scram" not in format_arguments(settings, BrokerFiles.of(settings), "x")


def test_scram_sasl_seeds_the_credentials_when_formatting(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="pos",
        sasl_password=SecretStr("pw-1"),
    )
    arguments = format_arguments(settings, BrokerFiles.of(settings), "cluster")
    assert arguments[-2:] == ["--add-scram", "SCRAM-SHA-512=[name=pos,password=pw-1]"]


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"broker_port": 19600, "controller_port": 19600}, "both 19600"),
        ({"security_protocol": "SSL"}, "not SSL"),
        ({"security_protocol": "SASL_PLAINTEXT"}, "TIERFLOW_SASL_MECHANISM"),
        (
            {
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": "PLAIN",
                "sasl_username": "pos",
                "sasl_password": SecretStr('a"b'),
            },
            "password may hold only",
        ),
    ],
)
def test_settings_the_embedded_broker_cannot_serve_are_refused(
    tmp_path: Path, overrides: dict[str, object], fragment: str
) -> None:
    settings = _settings(tmp_path, **overrides)
    with pytest.raises(BrokerError) as caught:
        render_properties(settings, BrokerFiles.of(settings))
    assert caught.value.code == "bad_settings"
    assert fragment in caught.value.message


def test_cluster_ids_are_22_url_safe_base64_characters() -> None:
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", one) for one in ids)


def test_an_absent_or_empty_data_folder_needs_formatting(tmp_path: Path) -> None:
    assert check_data_folder(tmp_path / "absent") is False
    (tmp_path / "empty").mkdir()
    assert check_data_folder(tmp_path / "empty") is False


def test_a_formatted_data_folder_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "meta.properties").write_text(
        "#\nnode.id=1\ndirectory.id=abc\nversion=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\n",
        encoding="utf-8",
    )
    assert check_data_folder(tmp_path) is True


def test_a_meta_properties_of_another_node_is_corrupt(tmp_path: Path) -> None:
    (tmp_path / "meta.properties").write_text(
        "node.id=7\nversion=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\n", encoding="utf-8"
    )
    with pytest.raises(BrokerError) as caught:
        check_data_folder(tmp_path)
    assert caught.value.code == "data_corrupt"
    assert "node.id is '7'" in caught.value.message


@pytest.mark.parametrize(
    ("log", "code"),
    [
        ("java.net.BindException: Address already in use", "port_taken"),
        ("InconsistentClusterIdException: The Cluster ID x doesn't match", "data_corrupt"),
        ("java.lang.OutOfMemoryError: Java heap space", "start_failed"),
        ("something else entirely", "start_failed"),
    ],
)
def test_a_failed_start_is_classified_by_its_log(log: str, code: str) -> None:
    assert classify_failure(log) == code


def test_the_pom_names_kafka_4(tmp_path: Path) -> None:
    assert pom_kafka_version(POM).startswith("4.")
    assert not is_fetched(tmp_path / "libs", tmp_path / ".fetched")
