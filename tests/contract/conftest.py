"""The contract tests reuse the live tests' helpers (tests/agents/live_worker.py and the worked
examples' builders) and the wire examples of tests/schemas, and build the JVM consumer of
examples/java once per run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
for helpers in (TESTS / "agents", TESTS / "schemas"):  # live workers; wire examples
    if str(helpers) not in sys.path:
        sys.path.append(str(helpers))


@pytest.fixture(scope="session")
def java_consumer_jar() -> Path:
    """examples/java's jar, up to date with its sources and schemas/*.avsc."""
    from java_client import build_java_consumer

    return build_java_consumer()
