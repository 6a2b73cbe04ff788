"""The JVM consumer of examples/java, as the contract tests run it: built by the Makefile
(`make java-consumer`, a no-op when the jar is up to date), run as `java -jar`, its JSON lines
read back. Without java or mvn the tests fail under CI=true and skip elsewhere, saying why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
JAR = REPO / "examples" / "java" / "target" / "tierflow-java-consumer.jar"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Fail under CI (a missing tool there is a broken machine), skip elsewhere."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the JVM contract tests must run)", pytrace=False)
    pytest.skip(reason)


def build_java_consumer() -> Path:
    """The consumer's jar, built by the Makefile's rule if its inputs changed."""
    for tool in ("java", "mvn", "make"):
        if shutil.which(tool) is None:
            unavailable(f"the Java consumer needs `{tool}` on PATH (Java 17+, Maven 3.8+)")
    built = subprocess.run(
        ["make", "-s", "java-consumer"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    if built.returncode != 0 or not JAR.is_file():
        pytest.fail(
            f"`make java-consumer` failed ({built.returncode}):\n{built.stdout}\n{built.stderr}",
            pytrace=False,
        )
    return JAR


@dataclass(frozen=True)
class JavaRun:
    """What one run of the consumer printed: a line per record, then a summary line."""

    returncode: int
    records: list[dict[str, Any]]
    summary: dict[str, Any]
    stderr: str

    def explain(self) -> str:
        errors = [line for line in self.records if "error" in line][:5]
        return (
            f"exit {self.returncode}; summary {self.summary}; first errors {errors}; "
            f"stderr: {self.stderr[-2000:]}"
        )


def run_java_consumer(
    jar: Path,
    bootstrap_servers: str,
    ledger_topic: str,
    tier_changes_topic: str,
    *,
    expect: int | None = None,
    idle_seconds: float = 5.0,
    timeout_seconds: float = 120.0,
    schema_registry_url: str | None = None,
) -> JavaRun:
    command = [
        "java",
        "-jar",
        str(jar),
        "--bootstrap-servers",
        bootstrap_servers,
        "--ledger-topic",
        ledger_topic,
        "--tier-changes-topic",
        tier_changes_topic,
        "--idle-seconds",
        str(idle_seconds),
        "--timeout-seconds",
        str(timeout_seconds),
    ]
    if expect is not None:
        command += ["--expect", str(expect)]
    if schema_registry_url is not None:
        command += ["--schema-registry-url", schema_registry_url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_seconds + 60)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    summaries = [line for line in lines if line.get("summary") is True]
    assert len(summaries) == 1, f"no summary line (exit {done.returncode}): {done.stderr[-2000:]}"
    records = [line for line in lines if line.get("summary") is not True]
    return JavaRun(done.returncode, records, summaries[0], done.stderr)
