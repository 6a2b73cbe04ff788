"""Live against replay: an analytics store the sink wrote from the topics, compared with the
one `tierflow replay` wrote from the same inputs, table by table, column by column.

The rules promise the same ledger whether events are streamed live or replayed (spec/rules.md),
and the worker applies inputs in the replay's order (docs/streaming.md, "Order across topics"),
so every contract column of the ledger, tier changes, notifications and members must agree,
and the rules' refusals too. Only the codec's refusals may differ: a broken line of a file and
a broken record on a topic are refused by different checks. Used by `tierflow replay
--compare-with`, the demo and the reliability tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

# table -> (key, the columns that must agree: every contract field, event times included)
COMPARED: dict[str, tuple[str | None, str]] = {
    "ledger": (
        "entry_id",
        "entry_id, member_id, occurred_at, kind, points, qualifying_points, balance_after, "
        "tier, multiplier, receipt_id, event_id, campaign_id, description, actor, reason",
    ),
    "tier_changes": (
        "event_id",
        "event_id, member_id, from_tier, to_tier, direction, qualifying_points, "
        "effective_at, reason",
    ),
    "notifications": (
        "notification_id",
        "notification_id, member_id, channel, template, recipient, subject, body, created_at",
    ),
    "members": (
        "member_id",
        "member_id, status, tier, balance, qualifying_points, next_tier, "
        "points_to_next_tier, points_at_risk_30d, multiplier, enrolled_at, updated_at, name, "
        "email, phone",
    ),
    "refusals": (None, "error_code, member_id"),
}


def sql_text(name: str) -> str:
    """A query of streams/offline/sql/ without its comment lines (it is then formatted)."""
    text = resources.files("streams.offline").joinpath(f"sql/{name}.sql").read_text()
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


@dataclass(frozen=True)
class Comparison:
    """Rows compared per table, and the rows each side has that the other lacks."""

    compared: dict[str, int]
    missing: dict[str, int]  # in the replay, not live
    extra: dict[str, int]  # live, not in the replay (a repeat counts)
    duplicates: dict[str, int]  # keys stored twice live
    samples: dict[str, list[tuple[Any, ...]]]

    @property
    def equal(self) -> bool:
        return not any((*self.missing.values(), *self.extra.values(), *self.duplicates.values()))

    def differences(self) -> int:
        return sum((*self.missing.values(), *self.extra.values(), *self.duplicates.values()))

    def summary(self) -> str:
        return (
            f"compared {self.compared}; missing {self.missing}; extra {self.extra}; "
            f"duplicates {self.duplicates}; samples {self.samples}"
        )


def compare_stores(live: Path, replayed: Path) -> Comparison:
    """Multiset equality, both ways, of the compared columns; plus duplicate keys live."""
    import duckdb

    from sink.lake import attach

    con = duckdb.connect()
    try:
        attach(con, Path(live), read_only=True, name="live", default=False)
        attach(con, Path(replayed), read_only=True, name="replayed", default=False)
        return _compare(con)
    finally:
        con.close()


def _relation(db: str, table: str) -> str:
    if table == "refusals":
        return f"({sql_text('refusals').format(db=db)})"
    return f"{db}.{table}"


def _compare(con: Any) -> Comparison:
    compared, missing, extra, duplicates, samples = {}, {}, {}, {}, {}
    template = sql_text("difference")
    for table, (key, columns) in COMPARED.items():
        live = _relation("live", table)
        compared[table] = con.execute(f"SELECT count(*) FROM {live}").fetchone()[0]
        for name, first, second, into in (
            ("missing", "replayed", "live", missing),
            ("extra", "live", "replayed", extra),
        ):
            sql = template.format(
                columns=columns, first=_relation(first, table), second=_relation(second, table)
            )
            rows = con.execute(sql).fetchall()
            into[table] = len(rows)
            if rows:
                samples[f"{table}.{name}"] = rows[:3]
        if key is not None:
            duplicates[table] = con.execute(
                f"SELECT count(*) FROM (SELECT {key} FROM live.{table} "
                f"GROUP BY {key} HAVING count(*) > 1)"
            ).fetchone()[0]
    return Comparison(compared, missing, extra, duplicates, samples)


def comparison_table(result: Comparison, history: Path, replayed: Path) -> Any:
    """The comparison as a rich table: rows per table and differences."""
    from rich.table import Table

    table = Table(title=f"live store against `tierflow replay {history}` ({replayed})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("differences", justify="right")
    for name, rows in result.compared.items():
        differences = result.missing[name] + result.extra[name] + result.duplicates.get(name, 0)
        table.add_row(name, f"{rows:,}", f"{differences:,}")
    return table
