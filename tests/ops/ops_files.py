"""Helpers of the ops/ checks: the promtool that `make promtool` builds, and the PromQL of the
Grafana dashboard's panels."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ALERTS = REPO / "ops" / "prometheus" / "alerts.yml"
ALERT_CASES = REPO / "ops" / "prometheus" / "alerts.test.yml"
PROMETHEUS_CONFIG = REPO / "ops" / "prometheus" / "prometheus.yml"
DASHBOARD = REPO / "ops" / "grafana" / "tierflow.json"
# Grafana's own range variables, as Prometheus would see a 5-minute panel.
GRAFANA_RANGES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "6h"}
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "le", "inf", "nan",
}  # fmt: skip


def promtool() -> str:
    """The promtool binary: $PROMTOOL, .tierflow/bin/promtool (`make promtool`), or PATH.
    Missing: a failure under CI=true, a skip elsewhere."""
    for candidate in (os.environ.get("PROMTOOL"), str(REPO / ".tierflow" / "bin" / "promtool")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("promtool")
    if found:
        return found
    reason = "no promtool: `make promtool` builds it into .tierflow/bin/ (Go on PATH)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the alert rules must be checked)", pytrace=False)
    pytest.skip(reason)


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside collapsed rows too."""
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def exprs(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query target."""
    return [
        (panel["title"], target["expr"])
        for panel in panels(board)
        for target in panel.get("targets", [])
    ]


def as_prometheus(expr: str) -> str:
    """The expression with Grafana's range variables replaced, as Prometheus runs it."""
    for variable, value in GRAFANA_RANGES.items():
        expr = expr.replace(variable, value)
    return expr


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions (followed by
    `(`), keywords, label names (inside {} or after by/without/on/ignoring) or durations."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", as_prometheus(expr))  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group()
        follows = text[match.end() :].lstrip()[:1]
        if follows == "(" or word.lower() in PROMQL_WORDS:
            continue
        names.add(word)
    return names
