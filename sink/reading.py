"""What the CLI and the report read from the store: marts and the member queries, as rows."""

from __future__ import annotations

from typing import Any

import duckdb

from sink.store import _sql

Row = dict[str, Any]


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[Row]:
    result = con.execute(sql, params) if params is not None else con.execute(sql)
    names = [column[0] for column in result.description]
    return [dict(zip(names, values, strict=True)) for values in result.fetchall()]


def query(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[Row]:
    """Run sink/queries/<name>.sql with named parameters."""
    return rows(con, _sql("queries", name), params or None)


def kpi_months(con: duckdb.DuckDBPyConnection) -> list[Row]:
    return rows(con, "SELECT * FROM kpi_monthly ORDER BY month")


def kpi_days(con: duckdb.DuckDBPyConnection, month: str) -> list[Row]:
    return rows(
        con,
        "SELECT * FROM kpi_daily WHERE strftime(local_date, '%Y-%m') = ? ORDER BY local_date",
        [month],
    )


def member_profile(con: duckdb.DuckDBPyConnection, member_id: str) -> Row | None:
    [profile] = query(con, "member_profile", member_id=member_id)
    known = profile["status"] is not None or profile["ledger_entries"] or profile["sale_receipts"]
    return profile if known else None


def member_feed(con: duckdb.DuckDBPyConnection, member_id: str, limit: int = 50) -> list[Row]:
    return query(con, "member_feed", member_id=member_id, limit=limit)


def receipt_lines(
    con: duckdb.DuckDBPyConnection, member_id: str, receipt_ids: list[str]
) -> dict[str, list[Row]]:
    by_receipt: dict[str, list[Row]] = {}
    if receipt_ids:
        for line in query(
            con, "member_receipt_lines", member_id=member_id, receipt_ids=receipt_ids
        ):
            by_receipt.setdefault(line["receipt_id"], []).append(line)
    return by_receipt
