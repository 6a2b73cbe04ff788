"""Fetching Apache Kafka's jars with Maven, once: `tierflow broker fetch`.

Maven copies the pom's runtime dependencies into a fresh folder which then replaces the old
one, and a stamp records which pom it came from, so a second fetch is a no-op and a changed
pom (a new Kafka version) never leaves two versions' jars on one classpath.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from streams.broker import POM, BrokerError

FETCH_TIMEOUT_S = 900.0


@dataclass(frozen=True, slots=True)
class Fetched:
    """The outcome of a fetch: where the jars are, which Kafka, and whether Maven ran."""

    jars: Path
    kafka_version: str
    downloaded: bool
    seconds: float


def find_java() -> str:
    """The `java` to run: $JAVA_HOME/bin/java, else the first on PATH; else BrokerError."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.access(Path(java_home) / "bin" / "java", os.X_OK):
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise BrokerError(
            "java_missing",
            "no `java` on PATH (and JAVA_HOME is unset or has no bin/java): the embedded "
            "Kafka broker needs a Java 17+ runtime. Install one (Debian/Ubuntu: "
            "`apt-get install openjdk-17-jre-headless`) or set TIERFLOW_BOOTSTRAP_SERVERS to "
            "use an existing Kafka cluster.",
        )
    return found


def pom_kafka_version(pom: Path) -> str:
    """The Kafka version the pom names (its <kafka.version> property)."""
    try:
        root = ET.parse(pom).getroot()
    except (OSError, ET.ParseError) as error:
        raise BrokerError("fetch_failed", f"cannot read the Kafka pom {pom}: {error}") from error
    for element in root.iter():
        if element.tag.endswith("}kafka.version") or element.tag == "kafka.version":
            return (element.text or "").strip()
    return "unknown"


def is_fetched(jars: Path, stamp: Path, pom: Path = POM) -> bool:
    """True if `jars` holds what `pom` names (the stamp says so and the server jar is there)."""
    return _stamp_matches(stamp, _digest(pom)) and any(jars.glob("kafka_2.13-*.jar"))


def fetch(
    jars: Path, stamp: Path, pom: Path = POM, *, offline: bool = False, force: bool = False
) -> Fetched:
    """Make `jars` hold the runtime jars of `pom`; a no-op if it already does (unless force)."""
    started = time.monotonic()
    digest = _digest(pom)
    version = pom_kafka_version(pom)
    jars.parent.mkdir(parents=True, exist_ok=True)
    with _lock(jars.parent / ".fetch.lock"):
        if not force and is_fetched(jars, stamp, pom):
            stamp.touch()  # newer than the pom, so make's rule stays satisfied
            return Fetched(jars, version, False, time.monotonic() - started)
        find_java()
        maven = shutil.which("mvn")
        if maven is None:
            raise BrokerError(
                "maven_missing",
                "no `mvn` on PATH: fetching the Kafka jars needs Apache Maven. Install it "
                "(Debian/Ubuntu: `apt-get install maven`), or copy the jars into "
                f"{jars} yourself, or set TIERFLOW_BOOTSTRAP_SERVERS to use an existing cluster.",
            )
        partial = jars.parent / (jars.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        command = [maven, "-B", "-q", "--no-transfer-progress"]
        command += ["-o"] if offline else []
        command += ["-f", str(pom), "dependency:copy-dependencies", f"-DoutputDirectory={partial}"]
        _run_maven(command, pom)
        if not any(partial.glob("kafka_2.13-*.jar")):
            raise BrokerError(
                "fetch_failed",
                f"Maven finished but copied no kafka_2.13 jar into {partial}; check {pom}.",
            )
        shutil.rmtree(jars, ignore_errors=True)
        partial.rename(jars)
        stamp.write_text(f"pom_sha256={digest}\nkafka_version={version}\n", encoding="utf-8")
        return Fetched(jars, version, True, time.monotonic() - started)


def jars_kafka_version(jars: Path) -> str | None:
    """The Kafka version of the fetched server jar, e.g. '4.4.0', or None if not fetched."""
    for jar in jars.glob("kafka_2.13-*.jar"):
        return jar.name.removeprefix("kafka_2.13-").removesuffix(".jar")
    return None


def _run_maven(command: list[str], pom: Path) -> None:
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=FETCH_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise BrokerError(
            "fetch_failed",
            f"Maven did not finish fetching the Kafka jars within {FETCH_TIMEOUT_S:.0f} s; "
            "check the network path to Maven Central (or the mirror in ~/.m2/settings.xml) "
            "and run `tierflow broker fetch` again.",
        ) from error
    if done.returncode != 0:
        output = (done.stdout + done.stderr).splitlines()
        errors = [line for line in output if "[ERROR]" in line][:6] or output[-6:]
        detail = "\n  ".join(line.strip() for line in errors)
        raise BrokerError(
            "fetch_failed",
            f"Maven could not fetch the Kafka jars named in {pom} (exit {done.returncode}):\n"
            f"  {detail}\n"
            "Check the network path to Maven Central (or the mirror in ~/.m2/settings.xml), "
            "then run `tierflow broker fetch` again.",
        )


def _digest(pom: Path) -> str:
    try:
        return hashlib.sha256(pom.read_bytes()).hexdigest()
    except OSError as error:
        raise BrokerError("fetch_failed", f"cannot read the Kafka pom {pom}: {error}") from error


def _stamp_matches(stamp: Path, digest: str) -> bool:
    try:
        return f"pom_sha256={digest}" in stamp.read_text(encoding="utf-8").splitlines()
    except OSError:
        return False


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (two `make` runs fetch once, not twice at once)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
