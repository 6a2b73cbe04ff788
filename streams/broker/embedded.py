"""The embedded Apache Kafka broker: one detached JVM in KRaft combined mode under <home>/broker.

`start_broker` fetches the jars if needed, formats the data folder with Kafka's StorageTool,
starts `kafka.Kafka` and waits until it answers a metadata request; `stop_broker` stops it
(SIGTERM, then SIGKILL); `broker_status` says whether it runs and answers. A running broker
is found by its pid file or by who listens on its port, so a second start reuses it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from streams.broker import TEMPLATES, BrokerError
from streams.broker.config import (
    BrokerFiles,
    check_data_folder,
    classify_failure,
    format_arguments,
    new_cluster_id,
    render_properties,
    tail,
)
from streams.broker.jars import fetch, find_java, is_fetched, jars_kafka_version
from streams.settings import Settings

__all__ = [
    "Broker",
    "BrokerError",
    "BrokerStatus",
    "broker_answers",
    "broker_jvms",
    "broker_status",
    "ensure_kafka",
    "start_broker",
    "stop_broker",
]

_log = logging.getLogger(__name__)
# JVMs this process started: kept so that stopping one can reap it (no zombie is left).
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True, slots=True)
class Broker:
    """A running embedded broker."""

    bootstrap_servers: str
    pid: int
    reused: bool
    seconds: float
    kafka_version: str | None
    server_log: Path


@dataclass(frozen=True, slots=True)
class BrokerStatus:
    """What is true of the embedded broker now; `running` means the JVM lives AND answers."""

    bootstrap_servers: str
    pid: int | None
    process_alive: bool
    answering: bool
    kafka_version: str | None
    data: Path
    server_log: Path

    @property
    def running(self) -> bool:
        return self.process_alive and self.answering


def start_broker(settings: Settings, *, reset: bool = False) -> Broker:
    """Start the embedded broker, or reuse the one that runs; wait until it answers."""
    started = time.monotonic()
    if settings.bootstrap_servers:
        raise BrokerError(
            "bad_settings",
            f"TIERFLOW_BOOTSTRAP_SERVERS is set ({settings.bootstrap_servers}), so tierflow uses "
            "that cluster and starts no embedded broker; unset it to use the embedded one.",
        )
    files = BrokerFiles.of(settings)
    java = find_java()
    files.folder.mkdir(parents=True, exist_ok=True)
    with _lock(files.folder / ".start.lock"):
        pid = _our_pid(files, settings)
        if pid is not None and not reset:
            _wait_until_ready(settings, files, pid, None, started)
            return Broker(
                settings.bootstrap,
                pid,
                True,
                time.monotonic() - started,
                jars_kafka_version(files.jars),
                files.server_log,
            )
        if pid is not None:
            _stop_pid(pid, settings.broker_stop_timeout)
        _check_port_free(settings.broker_port, "broker_port", "TIERFLOW_BROKER_PORT")
        _check_port_free(settings.controller_port, "controller_port", "TIERFLOW_CONTROLLER_PORT")
        if not is_fetched(files.jars, files.stamp):
            fetch(files.jars, files.stamp)
        if reset:
            shutil.rmtree(files.data, ignore_errors=True)
        _write_config(settings, files)
        if not check_data_folder(files.data):
            _format(java, settings, files)
        process = _launch(java, settings, files)
        _wait_until_ready(settings, files, process.pid, process, started)
        return Broker(
            settings.bootstrap,
            process.pid,
            False,
            time.monotonic() - started,
            jars_kafka_version(files.jars),
            files.server_log,
        )


def ensure_kafka(settings: Settings) -> str:
    """The bootstrap servers to use: the configured cluster if it answers, else the embedded
    broker, started or reused. For commands (the demo) that need Kafka and do not care which.
    """
    if settings.bootstrap_servers:
        if not broker_answers(settings, timeout=10.0):
            raise BrokerError(
                "unreachable",
                f"the Kafka cluster at TIERFLOW_BOOTSTRAP_SERVERS={settings.bootstrap_servers} "
                "does not answer a metadata request within 10 s; check the address and the "
                "security settings (TIERFLOW_SECURITY_PROTOCOL, TIERFLOW_SASL_*), or unset it "
                "to use the embedded broker.",
            )
        return settings.bootstrap_servers
    return start_broker(settings).bootstrap_servers


def stop_broker(settings: Settings) -> int | None:
    """Stop the embedded broker (SIGTERM, SIGKILL after broker_stop_timeout); its old pid."""
    files = BrokerFiles.of(settings)
    pid = _our_pid(files, settings)
    if pid is not None:
        _stop_pid(pid, settings.broker_stop_timeout)
    files.pid.unlink(missing_ok=True)
    return pid


def broker_status(settings: Settings) -> BrokerStatus:
    """The truth about the embedded broker: is its JVM alive, and does its port answer?"""
    files = BrokerFiles.of(settings)
    pid = _our_pid(files, settings)
    return BrokerStatus(
        bootstrap_servers=settings.bootstrap,
        pid=pid,
        process_alive=pid is not None,
        answering=broker_answers(settings, timeout=3.0),
        kafka_version=jars_kafka_version(files.jars),
        data=files.data,
        server_log=files.server_log,
    )


def broker_jvms(settings: Settings) -> list[int]:
    """Pids of every live kafka.Kafka JVM of this home (tests check that none is left)."""
    files = BrokerFiles.of(settings)
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        command = process.info["cmdline"] or []
        if (
            "kafka.Kafka" in command
            and str(files.properties) in command
            and process.info["status"] != psutil.STATUS_ZOMBIE
        ):
            found.append(process.info["pid"])
    return found


def broker_answers(settings: Settings, timeout: float = 3.0) -> bool:
    """True if the settings' bootstrap answers a metadata request within `timeout` seconds."""
    return broker_problem(settings, timeout) is None


def broker_problem(settings: Settings, timeout: float = 3.0) -> str | None:
    """None if the settings' bootstrap answers a metadata request within `timeout` seconds;
    else why not: `refused credentials: <broker's error>` (SASL) or `no answer`."""
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import AdminClient

    first = settings.bootstrap.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    # A refused TCP connect answers at once and keeps librdkafka from logging retries.
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=min(timeout, 2.0)):
            pass
    except (OSError, ValueError):
        return "no answer"
    quiet = logging.getLogger("tierflow.broker.probe")
    quiet.propagate = False
    quiet.addHandler(logging.NullHandler())
    refused: list[str] = []

    def on_error(error: KafkaError) -> None:
        if error.code() in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED):
            refused.append(error.str())

    config = settings.kafka_client_config() | {
        "logger": quiet,
        "socket.timeout.ms": 2000,
        "error_cb": on_error,
    }
    admin = AdminClient(config)
    try:
        metadata = admin.list_topics(timeout=timeout)
    except Exception:  # KafkaException on timeout, auth failure, ...: not answering
        admin.poll(0)  # serves the error callbacks: a refused login is reported there
        return f"refused credentials: {refused[0]}" if refused else "no answer"
    return None if metadata.brokers else "no answer"


# --- the JVM -------------------------------------------------------------------------------


def _write_config(settings: Settings, files: BrokerFiles) -> None:
    files.logs.mkdir(parents=True, exist_ok=True)
    files.properties.write_text(render_properties(settings, files), encoding="utf-8")
    files.properties.chmod(0o600)  # it may hold a SASL password
    shutil.copyfile(TEMPLATES / "log4j2.xml", files.log4j)


def _jvm_options(settings: Settings, files: BrokerFiles) -> list[str]:
    return [
        f"-Xmx{settings.broker_heap}",
        "-Xms256m",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={files.log4j}",
        f"-Dkafka.logs.dir={files.logs}",
        "-cp",
        str(files.jars / "*"),
    ]


def _format(java: str, settings: Settings, files: BrokerFiles) -> None:
    command = [java, *_jvm_options(settings, files), "kafka.tools.StorageTool"]
    command += format_arguments(settings, files, new_cluster_id())
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise BrokerError(
            "start_failed", "Kafka's StorageTool did not format the data folder in 120 s"
        ) from error
    if done.returncode != 0:
        output = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise BrokerError(
            classify_failure(output),
            f"Kafka's StorageTool could not format {files.data} (exit {done.returncode}):\n"
            f"{output}\nIf the folder is damaged, `tierflow broker start --reset` wipes it.",
        )


def _launch(java: str, settings: Settings, files: BrokerFiles) -> subprocess.Popen[bytes]:
    command = [java, *_jvm_options(settings, files), "kafka.Kafka", str(files.properties)]
    with files.jvm_log.open("ab") as jvm_log:
        # A new session: the broker outlives this command and ignores its terminal's Ctrl-C.
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=jvm_log,
            stderr=subprocess.STDOUT,
            cwd=files.folder,
            start_new_session=True,
        )
    _children[process.pid] = process
    files.pid.write_text(f"{process.pid}\n", encoding="utf-8")
    _log.info("broker_launched pid=%s port=%s", process.pid, settings.broker_port)
    return process


def _wait_until_ready(
    settings: Settings,
    files: BrokerFiles,
    pid: int,
    process: subprocess.Popen[bytes] | None,
    started: float,
) -> None:
    deadline = started + settings.broker_start_timeout
    while True:
        if not _alive(pid):
            files.pid.unlink(missing_ok=True)
            log_tail = tail(files.server_log) + "\n" + tail(files.jvm_log, 15)
            code = classify_failure(log_tail)
            raise BrokerError(
                code,
                f"the Kafka broker (pid {pid}) exited while starting"
                + (f" with code {process.returncode}" if process else "")
                + f". The end of its log ({files.server_log}):\n{log_tail.strip()}\n"
                + _advice(code),
            )
        remaining = deadline - time.monotonic()
        if broker_answers(settings, timeout=max(0.5, min(3.0, remaining))):
            return
        if time.monotonic() >= deadline:
            # A broker that never answered is no use: stop it rather than leave a stray JVM.
            _stop_pid(pid, 10.0)
            files.pid.unlink(missing_ok=True)
            raise BrokerError(
                "start_timeout",
                f"the Kafka broker (pid {pid}) did not answer on {settings.bootstrap} within "
                f"{settings.broker_start_timeout:g} s and was stopped. The end of its log "
                f"({files.server_log}):\n{tail(files.server_log).strip()}\n"
                "A slow machine may need a larger TIERFLOW_BROKER_START_TIMEOUT.",
            )
        time.sleep(0.2)


def _advice(code: str) -> str:
    return {
        "port_taken": "Another process took the port: stop it or choose other ports "
        "(TIERFLOW_BROKER_PORT, TIERFLOW_CONTROLLER_PORT).",
        "data_corrupt": "The data folder is damaged: `tierflow broker start --reset` wipes it "
        "(its topics and messages) and starts afresh.",
        "java_missing": "This Java is too old: Kafka 4 needs Java 17 or newer.",
    }.get(code, "Fix the cause shown above, then run `tierflow broker start` again.")


def _stop_pid(pid: int, timeout: float) -> None:
    """SIGTERM (Kafka's controlled shutdown), then SIGKILL; returns once the JVM is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, timeout):
        return
    _log.warning("broker_kill pid=%s after=%ss", pid, timeout)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not _wait_gone(pid, 10.0):
        raise BrokerError("stop_failed", f"the Kafka broker (pid {pid}) survived SIGKILL")


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return not _alive(pid)


def _alive(pid: int) -> bool:
    """True if the process runs (a zombie is dead: reap it if it is our child)."""
    child = _children.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        del _children[pid]
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


# --- finding a running broker ----------------------------------------------------------------


def _is_our_jvm(pid: int, files: BrokerFiles) -> bool:
    try:
        command = psutil.Process(pid).cmdline()
    except psutil.Error:
        return False
    return "kafka.Kafka" in command and str(files.properties) in command


def _our_pid(files: BrokerFiles, settings: Settings) -> int | None:
    """The pid of this home's broker JVM: from the pid file, else the owner of its port."""
    with contextlib.suppress(OSError, ValueError):
        pid = int(files.pid.read_text(encoding="utf-8").strip())
        if _alive(pid) and _is_our_jvm(pid, files):
            return pid
    files.pid.unlink(missing_ok=True)
    owner = _listener_pid(settings.broker_port)
    if owner is not None and _alive(owner) and _is_our_jvm(owner, files):
        files.pid.write_text(f"{owner}\n", encoding="utf-8")  # adopt an orphan
        return owner
    return None


def _listener_pid(port: int) -> int | None:
    with contextlib.suppress(psutil.Error, OSError):
        for connection in psutil.net_connections(kind="tcp"):
            if (
                connection.status == psutil.CONN_LISTEN
                and connection.laddr
                and connection.laddr.port == port
            ):
                return connection.pid
    return None


def _check_port_free(port: int, setting: str, variable: str) -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Like Kafka: a port in TIME_WAIT from a broker that just stopped is free to bind.
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind(("127.0.0.1", port))
    except OSError as error:
        owner = _listener_pid(port)
        who = ""
        if owner is not None:
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(owner)
                who = f" by pid {owner} ({' '.join(process.cmdline())[:120]})"
        reason = "is already in use" if error.errno == errno.EADDRINUSE else f"fails: {error}"
        raise BrokerError(
            "port_taken",
            f"port {port} ({setting}) {reason}{who}, and it is not this home's broker. "
            f"Stop that process, or choose another port with {variable}.",
        ) from error
    finally:
        probe.close()


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """One start at a time per home: two racing starts must not launch two JVMs."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
