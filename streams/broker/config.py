"""What the embedded broker runs with: its files under <home>, its server.properties, its
cluster id, and how to read its data folder and its log when something goes wrong.

Pure functions over paths and strings; `streams.broker.embedded` does the process work.
"""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from string import Template

from streams.broker import TEMPLATES, BrokerError
from streams.settings import Settings

SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    """Where one embedded broker keeps its jars, config, data, logs and pid (all absolute)."""

    jars: Path
    stamp: Path
    folder: Path
    properties: Path
    log4j: Path
    data: Path
    logs: Path
    server_log: Path
    jvm_log: Path
    pid: Path

    @classmethod
    def of(cls, settings: Settings) -> BrokerFiles:
        home = settings.home.expanduser().resolve()
        jars = (settings.kafka_jars or home / "kafka" / "libs").expanduser().resolve()
        folder = home / "broker"
        logs = folder / "logs"
        return cls(
            jars=jars,
            stamp=jars.parent / ".fetched",
            folder=folder,
            properties=folder / "server.properties",
            log4j=folder / "log4j2.xml",
            data=folder / "data",
            logs=logs,
            server_log=logs / "server.log",
            jvm_log=logs / "jvm.log",
            pid=folder / "broker.pid",
        )


@dataclass(frozen=True, slots=True)
class SaslUser:
    """The one SASL user of an embedded broker started with a SASL_PLAINTEXT listener."""

    mechanism: str
    username: str
    password: str


def sasl_user(settings: Settings) -> SaslUser | None:
    """The SASL user the settings ask the embedded broker for, or None for PLAINTEXT."""
    if settings.security_protocol == "PLAINTEXT":
        return None
    if settings.security_protocol != "SASL_PLAINTEXT":
        raise BrokerError(
            "bad_settings",
            f"the embedded broker speaks PLAINTEXT or SASL_PLAINTEXT, not "
            f"{settings.security_protocol}; point TIERFLOW_BOOTSTRAP_SERVERS at a cluster "
            "that serves it",
        )
    if not (settings.sasl_mechanism and settings.sasl_username and settings.sasl_password):
        raise BrokerError(
            "bad_settings",
            "SASL_PLAINTEXT needs TIERFLOW_SASL_MECHANISM, TIERFLOW_SASL_USERNAME and "
            "TIERFLOW_SASL_PASSWORD",
        )
    user = SaslUser(
        settings.sasl_mechanism, settings.sasl_username, settings.sasl_password.get_secret_value()
    )
    # The values go into a JAAS string and a StorageTool argument: keep them to plain tokens.
    for what, value in (("username", user.username), ("password", user.password)):
        if not re.fullmatch(r"[A-Za-z0-9._~!@#%^&*+-]+", value):
            raise BrokerError(
                "bad_settings",
                f"the embedded broker's SASL {what} may hold only letters, digits and "
                "._~!@#%^&*+- (no quotes, spaces, commas, brackets or '=')",
            )
    return user


def render_properties(settings: Settings, files: BrokerFiles) -> str:
    """The broker's server.properties: the shipped template plus, with SASL, its listener."""
    if settings.broker_port == settings.controller_port:
        raise BrokerError(
            "bad_settings",
            f"broker_port and controller_port are both {settings.broker_port}; "
            "set TIERFLOW_CONTROLLER_PORT to another port",
        )
    user = sasl_user(settings)
    template = Template((TEMPLATES / "server.properties").read_text(encoding="utf-8"))
    text = template.substitute(
        broker_port=settings.broker_port,
        controller_port=settings.controller_port,
        client_listener="SASL_PLAINTEXT" if user else "PLAINTEXT",
        data_dir=files.data,
    )
    if user is None:
        return text
    mechanism = user.mechanism
    if mechanism in SCRAM_MECHANISMS:
        # SCRAM credentials live in the cluster metadata; `format --add-scram` puts them there.
        module = "org.apache.kafka.common.security.scram.ScramLoginModule"
        jaas = f'{module} required username="{user.username}" password="{user.password}";'
    else:
        module = "org.apache.kafka.common.security.plain.PlainLoginModule"
        jaas = (
            f'{module} required username="{user.username}" password="{user.password}" '
            f'user_{user.username}="{user.password}";'
        )
    return text + "\n".join(
        [
            "",
            "# SASL on the client listener (the broker talks to itself as the same user).",
            f"sasl.enabled.mechanisms={mechanism}",
            f"sasl.mechanism.inter.broker.protocol={mechanism}",
            f"listener.name.sasl_plaintext.{mechanism.lower()}.sasl.jaas.config={jaas}",
            "",
        ]
    )


def format_arguments(settings: Settings, files: BrokerFiles, cluster_id: str) -> list[str]:
    """StorageTool's arguments to format the data folder (and seed SCRAM credentials)."""
    arguments = ["format", "-t", cluster_id, "-c", str(files.properties)]
    user = sasl_user(settings)
    if user is not None and user.mechanism in SCRAM_MECHANISMS:
        arguments += [
            "--add-scram",
            f"{user.mechanism}=[name={user.username},password={user.password}]",
        ]
    return arguments


def new_cluster_id() -> str:
    """A Kafka cluster id: a random UUID in URL-safe base64, 22 characters, not starting '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not text.startswith("-"):
            return text


def check_data_folder(data: Path) -> bool:
    """True if the folder is formatted, False if it is absent or empty; else BrokerError.

    Kafka itself would refuse a damaged folder only after the JVM is up, with a stack trace;
    the cheap checks here turn the common cases into one message.
    """
    if not data.exists() or (data.is_dir() and not any(data.iterdir())):
        return False
    advice = (
        "Move it away, or run `tierflow broker start --reset` to wipe the embedded broker's "
        "data (its topics and messages), then start again."
    )
    if not data.is_dir():
        raise BrokerError(
            "data_corrupt", f"the broker's data folder {data} is not a folder. {advice}"
        )
    meta = data / "meta.properties"
    if not meta.is_file():
        raise BrokerError(
            "data_corrupt",
            f"the broker's data folder {data} holds files but no meta.properties, so Kafka "
            f"cannot tell whose data it is. {advice}",
        )
    fields = _read_properties(meta)
    problems = []
    if fields.get("node.id") != "1":
        problems.append(f"node.id is {fields.get('node.id')!r}, not '1'")
    if not re.fullmatch(r"[A-Za-z0-9_-]{22}", fields.get("cluster.id", "")):
        problems.append(f"cluster.id {fields.get('cluster.id')!r} is not a Kafka cluster id")
    if fields.get("version") not in {"0", "1"}:
        problems.append(f"version {fields.get('version')!r} is unknown")
    if problems:
        raise BrokerError(
            "data_corrupt",
            f"the broker's data folder {data} is damaged: {meta.name}: "
            f"{'; '.join(problems)}. {advice}",
        )
    return True


def _read_properties(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    fields = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            fields[key.strip()] = value.strip()
    return fields


# Lines of a failed start that name the cause, and the code they mean.
_FAILURE_SIGNS = (
    ("Address already in use", "port_taken"),
    ("InconsistentClusterIdException", "data_corrupt"),
    ("meta.properties", "data_corrupt"),
    ("CorruptRecordException", "data_corrupt"),
    ("KafkaStorageException", "data_corrupt"),
    ("is not formatted", "data_corrupt"),
    ("OutOfMemoryError", "start_failed"),
    ("Could not reserve enough space", "start_failed"),
    ("UnsupportedClassVersionError", "java_missing"),
)


def classify_failure(log_tail: str) -> str:
    """The error code that a failed start's log points to (start_failed if none does)."""
    for sign, code in _FAILURE_SIGNS:
        if sign in log_tail:
            return code
    return "start_failed"


def tail(path: Path, lines: int = 25) -> str:
    """The last lines of a log file, or '' if there is none."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
