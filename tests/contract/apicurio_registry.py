"""A real schema registry for the contract tests: Apicurio Registry, which serves Confluent's
API under /apis/ccompat/v7, run from Maven Central's distribution of it.

`io.apicurio:apicurio-registry-app:<version>:tar.gz:all` is the registry as a Quarkus
application (quarkus-run.jar and its lib/). It is fetched by Maven once into
.tierflow/apicurio/<version>/ and started as a subprocess with its default storage, an
in-memory H2 database, so each start is empty. It is compiled for Java 21: a Java 21+ is
looked for ($TIERFLOW_REGISTRY_JAVA, the `java` on PATH, /usr/lib/jvm/*). Without Maven or
such a Java the tests fail under CI=true and skip elsewhere, saying why.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from java_client import REPO, unavailable
from live_worker import free_port

VERSION = "3.3.3"
ARTIFACT = f"io.apicurio:apicurio-registry-app:{VERSION}:tar.gz:all"
HOME = REPO / ".tierflow" / "apicurio" / VERSION
FETCHED = HOME / ".fetched"
MIN_JAVA = 21
CONFLUENT_API = "/apis/ccompat/v7"


@dataclass(frozen=True)
class Registry:
    url: str  # Confluent's API: `<url>/subjects`, `<url>/schemas/ids/<id>`
    log: Path


def fetch() -> Path:
    """The unpacked application (its quarkus-run.jar), fetched by Maven once."""
    if FETCHED.exists():
        return HOME
    if shutil.which("mvn") is None:
        unavailable("the schema registry test needs `mvn` on PATH to fetch Apicurio Registry")
    download = HOME.parent / "download"
    fetched = subprocess.run(
        [
            "mvn",
            "-B",
            "-q",
            "-Dstyle.color=never",
            "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
            f"-Dartifact={ARTIFACT}",
            f"-DoutputDirectory={download}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    archive = download / f"apicurio-registry-app-{VERSION}-all.tar.gz"
    if fetched.returncode != 0 or not archive.is_file():
        raise AssertionError(
            f"Maven could not fetch {ARTIFACT} ({fetched.returncode}): "
            f"{fetched.stdout[-2000:]} {fetched.stderr[-2000:]}"
        )
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    with tarfile.open(archive) as unpacked:
        if hasattr(tarfile, "data_filter"):
            unpacked.extractall(HOME, filter="data")
        else:  # Python 3.11 before 3.11.4 has no extraction filters
            unpacked.extractall(HOME)
    archive.unlink()
    if not (HOME / "quarkus-run.jar").is_file():
        raise AssertionError(f"{ARTIFACT} holds no quarkus-run.jar: {sorted(HOME.iterdir())}")
    FETCHED.touch()
    return HOME


def java_version(java: str) -> int:
    shown = subprocess.run(
        [java, "-XshowSettings:properties", "-version"], capture_output=True, text=True, timeout=60
    )
    for line in shown.stderr.splitlines():
        name, _, value = line.strip().partition(" = ")
        if name == "java.specification.version":
            return int(value.split(".")[0])
    return 0


def find_java() -> str:
    """A `java` of version 21 or newer."""
    candidates = [os.environ.get("TIERFLOW_REGISTRY_JAVA"), shutil.which("java")]
    candidates += [str(path) for path in sorted(Path("/usr/lib/jvm").glob("*/bin/java"))]
    seen = {}
    for java in filter(None, candidates):
        seen[java] = java_version(java)
        if seen[java] >= MIN_JAVA:
            return java
    unavailable(
        f"Apicurio Registry {VERSION} needs Java {MIN_JAVA}+; found {seen or 'no java'} "
        "(set TIERFLOW_REGISTRY_JAVA to a java 21+)"
    )
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running_registry(log: Path, timeout: float = 240.0) -> Iterator[Registry]:
    """Apicurio Registry on free loopback ports, stopped (SIGTERM) on exit."""
    home = fetch()
    java = find_java()
    port, management_port = free_port(), free_port()
    command = [
        java,
        "-Xmx512m",
        "-Dquarkus.http.host=127.0.0.1",
        f"-Dquarkus.http.port={port}",
        "-Dquarkus.management.host=127.0.0.1",
        f"-Dquarkus.management.port={management_port}",
        "-jar",
        str(home / "quarkus-run.jar"),
    ]
    with log.open("ab") as output:
        process = subprocess.Popen(command, cwd=home, stdout=output, stderr=subprocess.STDOUT)
    registry = Registry(f"http://127.0.0.1:{port}{CONFLUENT_API}", log)
    try:
        wait_until_serving(process, registry, timeout)
        yield registry
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def wait_until_serving(
    process: subprocess.Popen[bytes], registry: Registry, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the registry exited ({process.returncode}): {tail(registry)}")
        try:
            with urllib.request.urlopen(registry.url + "/subjects", timeout=5) as answer:
                if answer.status == 200:
                    return
                last = answer.status
        except (urllib.error.URLError, OSError) as error:
            last = error
        time.sleep(0.5)
    raise AssertionError(f"the registry did not serve in {timeout}s ({last!r}): {tail(registry)}")


def tail(registry: Registry, lines: int = 30) -> str:
    text = registry.log.read_text(errors="replace") if registry.log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])
