"""Each way the embedded broker cannot start gives one clear BrokerError, quickly: a port
taken by another program, no Java, a failed Maven fetch, a damaged data folder, a broker
that never answers. None hangs, and none leaves a JVM behind."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from streams.broker import POM, BrokerError

QUICK_S = 15.0


def _start_fails(settings: Any) -> BrokerError:
    from streams.broker.embedded import start_broker

    began = time.monotonic()
    with pytest.raises(BrokerError) as caught:
        start_broker(settings)
    assert time.monotonic() - began < QUICK_S, "the failure took too long to surface"
    return caught.value


@pytest.mark.integration
def test_a_port_taken_by_another_program_is_named_with_what_to_do(
    embedded_settings: Any,
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        error = _start_fails(embedded_settings(broker_port=port))
    assert error.code == "port_taken"
    assert f"port {port}" in error.message
    assert "TIERFLOW_BROKER_PORT" in error.message


def test_a_missing_java_says_to_install_one(
    embedded_settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "no-java-here"))
    error = _start_fails(embedded_settings())
    assert error.code == "java_missing"
    assert "Java 17" in error.message


def test_the_cli_prints_one_line_with_the_code_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streams.cli import app

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("TIERFLOW_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "no-java-here"))
    result = CliRunner().invoke(app, ["broker", "start", "--home", str(tmp_path / "home")])
    assert result.exit_code == 2
    assert result.output.startswith("error [java_missing]: no `java` on PATH")
    assert "Traceback" not in result.output


@pytest.mark.integration
def test_a_damaged_meta_properties_is_reported_as_a_corrupt_data_folder(
    embedded_settings: Any,
) -> None:
    from streams.broker.config import BrokerFiles

    settings = embedded_settings()
    data = BrokerFiles.of(settings).data
    data.mkdir(parents=True)
    (data / "meta.properties").write_bytes(b"\x00\x01 not properties \xff")
    error = _start_fails(settings)
    assert error.code == "data_corrupt"
    assert str(data) in error.message
    assert "--reset" in error.message


@pytest.mark.integration
def test_a_data_folder_of_stray_files_is_reported_as_corrupt(embedded_settings: Any) -> None:
    from streams.broker.config import BrokerFiles

    settings = embedded_settings()
    data = BrokerFiles.of(settings).data
    data.mkdir(parents=True)
    (data / "notes.txt").write_text("not kafka", encoding="utf-8")
    assert _start_fails(settings).code == "data_corrupt"


@pytest.mark.integration
def test_reset_wipes_a_damaged_data_folder_and_starts(embedded_settings: Any) -> None:
    from streams.broker.config import BrokerFiles
    from streams.broker.embedded import start_broker, stop_broker

    settings = embedded_settings()
    data = BrokerFiles.of(settings).data
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("garbage", encoding="utf-8")
    try:
        assert not start_broker(settings, reset=True).reused
    finally:
        stop_broker(settings)


def test_a_failed_maven_fetch_names_the_pom_and_what_to_do(tmp_path: Path) -> None:
    from streams.broker.jars import fetch

    bogus = tmp_path / "pom.xml"
    text = POM.read_text(encoding="utf-8")
    bogus.write_text(text.replace("<kafka.version>", "<kafka.version>0.0.0-no-such-"), "utf-8")
    jars = tmp_path / "kafka" / "libs"
    began = time.monotonic()
    with pytest.raises(BrokerError) as caught:
        fetch(jars, jars.parent / ".fetched", bogus, offline=True)
    assert time.monotonic() - began < 60
    assert caught.value.code == "fetch_failed"
    assert str(bogus) in caught.value.message
    assert "tierflow broker fetch" in caught.value.message
    assert not jars.exists() and not (jars.parent / ".fetched").exists()


def test_a_missing_maven_says_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streams.broker.jars import fetch, find_java

    only_java = tmp_path / "bin"
    only_java.mkdir()
    os.symlink(find_java(), only_java / "java")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(only_java))
    jars = tmp_path / "kafka" / "libs"
    with pytest.raises(BrokerError) as caught:
        fetch(jars, jars.parent / ".fetched")
    assert caught.value.code == "maven_missing"


@pytest.mark.integration
def test_a_broker_that_does_not_answer_in_time_is_stopped_not_left_running(
    embedded_settings: Any,
) -> None:
    from streams.broker.embedded import broker_jvms

    settings = embedded_settings(broker_start_timeout=0.5)
    error = _start_fails(settings)
    assert error.code == "start_timeout"
    assert "TIERFLOW_BROKER_START_TIMEOUT" in error.message
    assert broker_jvms(settings) == []


def test_an_external_cluster_setting_refuses_to_start_an_embedded_broker(
    embedded_settings: Any,
) -> None:
    error = _start_fails(embedded_settings(bootstrap_servers="kafka.example:9092"))
    assert error.code == "bad_settings"
    assert "TIERFLOW_BOOTSTRAP_SERVERS" in error.message
