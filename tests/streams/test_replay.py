"""`tierflow replay` and `tierflow whatif`: the rules core over a file, into DuckDB, no Kafka."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from streams.cli import app
from streams.offline.replay import replay_file
from streams.offline.whatif import compare
from streams.program import load_program

EXAMPLE = Path(__file__).resolve().parents[2] / "streams" / "program.example.toml"


def _sale(receipt_id: str, member: str, at: str, amount: str, category: str = "grocery") -> dict:
    return {
        "type": "receipt",
        "receipt_id": receipt_id,
        "member_id": member,
        "store_id": "NYC-001",
        "occurred_at": at,
        "currency": "USD",
        "kind": "SALE",
        "lines": [
            {
                "sku": "SKU-1",
                "category": category,
                "quantity": 1,
                "unit_price": amount,
                "amount": amount,
            }
        ],
        "total": amount,
    }


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """A member crosses Silver on a Tuesday, then earns at x1.5; one line is not JSON."""
    lines = [
        json.dumps(
            {
                "type": "enrolled",
                "event_id": "e-1",
                "member_id": "M1",
                "occurred_at": "2025-03-03T09:00:00-05:00",
                "name": "Zoë Müller",
                "email": "zoe@example.com",
                "consent_email": True,
            }
        ),
        json.dumps(_sale("r-1", "M1", "2025-03-04T10:00:00-05:00", "9999.00")),
        json.dumps(_sale("r-2", "M1", "2025-03-04T11:00:00-05:00", "1.00")),
        json.dumps(_sale("r-3", "M1", "2025-03-04T12:00:00-05:00", "10.00")),
        "{not json",
    ]
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_replay_writes_the_contract_tables(history: Path, tmp_path: Path) -> None:
    out = tmp_path / "replay.duckdb"
    result = CliRunner().invoke(
        app,
        ["replay", str(history), "--program", str(EXAMPLE), "--duckdb", str(out)],
    )
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(out), read_only=True) as con:
        earned = con.execute(
            "SELECT receipt_id, points, tier FROM ledger WHERE kind = 'EARN' ORDER BY receipt_id"
        ).fetchall()
        assert earned == [("r-1", 9999, "Member"), ("r-2", 1, "Member"), ("r-3", 15, "Silver")]
        assert con.execute("SELECT from_tier, to_tier FROM tier_changes").fetchall() == [
            ("Member", "Silver")
        ]
        member = con.execute(
            "SELECT tier, qualifying_points, points_to_next_tier, email FROM members"
        ).fetchone()
        assert member == ("Silver", 10010, 25000 - 10010, "zoe@example.com")
        assert con.execute("SELECT count(*) FROM receipts").fetchone() == (3,)
        assert con.execute("SELECT count(*) FROM member_events").fetchone() == (1,)
        assert con.execute('SELECT error_code, "offset" FROM dead_letters').fetchall() == [
            ("bad_json", 5)
        ]
        assert con.execute("SELECT count(*) FROM notifications").fetchone()[0] >= 1


def test_replay_as_of_runs_the_reviews_that_drop_the_tier(history: Path) -> None:
    """Twelve months after the crossing, the window no longer supports Silver."""
    program = load_program(EXAMPLE)
    early = replay_file(history, program)
    late = replay_file(history, program, as_of=load_date("2026-03-05"))
    assert {view.tier for view in early.views()} == {"Silver"}
    assert {view.tier for view in late.views()} == {"Member"}
    assert [change["to_tier"] for change in late.decoded("tier_changes")] == ["Silver", "Member"]


def load_date(text: str) -> date:
    return date.fromisoformat(text)


def test_whatif_counts_members_moving_up_under_a_lower_threshold(
    history: Path, tmp_path: Path
) -> None:
    lower = tmp_path / "lower.toml"
    lower.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace("threshold = 10000", "threshold = 5000"),
        encoding="utf-8",
    )
    current = replay_file(history, load_program(EXAMPLE))
    proposed = replay_file(history, load_program(lower))
    comparison = compare(current, proposed)
    assert (comparison.moved_up, comparison.moved_down, comparison.unchanged) == (0, 0, 1)
    # Silver came earlier, so r-2 already earned at x1.5 under the proposal.
    assert comparison.proposed.points_issued > comparison.current.points_issued

    result = CliRunner(env={"COLUMNS": "160"}).invoke(
        app, ["whatif", str(history), "--program", str(lower), "--current", str(EXAMPLE)]
    )
    assert result.exit_code == 0, result.output
    assert "members who would move up" in result.output
    assert "members in Silver" in result.output
