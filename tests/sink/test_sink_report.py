"""The report: one offline HTML page whose every chart draws in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sink.report import CHARTS, render_report
from sink.store import MARTS, Store

SCREENSHOTS = Path(__file__).resolve().parents[2] / "data" / "test-artifacts"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = (
        "headless Chromium is needed to check the report: install Debian's package "
        "(apt-get update && apt-get install -y chromium; `make chromium` does it)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _chromium_run(*args: str, page: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--virtual-time-budget=15000",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )


def test_report_is_self_contained(history_store: Store) -> None:
    page = render_report(history_store.connection, "test store")
    assert "<script src=" not in page, "no external script: the page must work offline"
    assert len(page) > 3_000_000, "plotly.js itself must be inlined"
    assert page.count("Plotly.newPlot") == len(CHARTS)


def test_every_chart_draws_in_headless_chromium(history_store: Store, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_report(history_store.connection, "test store"), encoding="utf-8")

    dom = _chromium_run("--dump-dom", page=page).stdout
    starts = [dom.index(f'id="{element_id}"') for element_id, _ in CHARTS] + [len(dom)]
    for (element_id, title), start, end in zip(CHARTS, starts, starts[1:], strict=False):
        chart = dom[start:end]
        assert "main-svg" in chart, f"chart {element_id} ({title}) was not drawn"
        drawn = re.findall(r'class="(?:trace |point|bars?"|hm")', chart)
        assert drawn, f"chart {element_id} ({title}) has axes but no data drawn"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "report.png"
    shot.unlink(missing_ok=True)
    _chromium_run("--window-size=1200,2900", f"--screenshot={shot}", page=page)
    assert shot.stat().st_size > 20_000, "the screenshot is (nearly) blank"


def test_marts_and_report_work_on_an_empty_store(store: Store) -> None:
    for name in MARTS:
        if name != "kpis_by_period":
            store.connection.execute(f"SELECT * FROM {name}").fetchall()
    assert render_report(store.connection, "empty").count("Plotly.newPlot") == len(CHARTS)
