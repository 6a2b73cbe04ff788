"""The contract tests reuse the live tests' helpers (tests/agents/live_worker.py and the worked
examples' builders) and build the JVM consumer of examples/java once per run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

LIVE_HELPERS = Path(__file__).resolve().parents[1] / "agents"
if str(LIVE_HELPERS) not in sys.path:
    sys.path.append(str(LIVE_HELPERS))


@pytest.fixture(scope="session")
def java_consumer_jar() -> Path:
    """examples/java's jar, up to date with its sources and schemas/*.avsc."""
    from java_client import build_java_consumer

    return build_java_consumer()
