"""`tierflow kpis`, `member` and `report` on the hand-computed history."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sink.store import Store
from streams.cli import app


@pytest.fixture
def store_file(history_store: Store) -> Path:
    history_store.close()  # readers need the file to themselves
    return history_store.path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "220"})
    return result.exit_code, result.output


def test_kpis_prints_every_kpi_per_month(store_file: Path) -> None:
    code, out = run("kpis", "--duckdb", str(store_file))
    assert code == 0, out
    assert "2024-01" in out and "2024-03" in out
    ltv = next(line for line in out.splitlines() if "lifetime value" in line)
    assert [cell for cell in ltv.split() if cell[0].isdigit()] == ["90.00", "85.00", "110.00"]
    assert "redemption rate" in out and "0.3738" in out


def test_kpis_of_one_month_adds_its_days(store_file: Path) -> None:
    code, out = run("kpis", "--month", "2024-02", "--duckdb", str(store_file))
    assert code == 0, out
    assert "2024-02-29" in out and "2024-01" not in out.split("per day")[0].split("KPI")[1]


def test_kpis_refuses_a_bad_month(store_file: Path) -> None:
    code, out = run("kpis", "--month", "2024-13", "--duckdb", str(store_file))
    assert code == 2 and "bad_month" in out


def test_member_prints_profile_and_explained_feed(store_file: Path) -> None:
    code, out = run("member", "A", "--duckdb", str(store_file))
    assert code == 0, out
    assert "points to next tier" in out and "200" in out
    assert "Member (x1); excluded: gift_card" in out
    assert "campaign c-double" in out
    assert "Member -> Silver (UP)" in out
    code, out = run("member", "B", "--duckdb", str(store_file))
    assert "by agent-7" in out and "reason: goodwill" in out


def test_member_unknown_is_an_error(store_file: Path) -> None:
    code, out = run("member", "nobody", "--duckdb", str(store_file))
    assert code == 2 and "unknown_member" in out


def test_report_writes_one_offline_page(store_file: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "r.html"
    code, out = run("report", "--out", str(out_file), "--duckdb", str(store_file))
    assert code == 0, out
    assert out_file.stat().st_size > 3_000_000 and "<script src=" not in out_file.read_text()


def test_reading_a_missing_store_says_what_to_do(tmp_path: Path) -> None:
    code, out = run("kpis", "--duckdb", str(tmp_path / "none.duckdb"))
    assert code == 2 and "store_missing" in out and "tierflow sink" in out
