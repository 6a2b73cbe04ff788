"""`tierflow sink`, `kpis`, `member ID` and `report`: the analytics side of the command line.

Thin: settings and flags in, sink/ does the work. Store problems print their code and message
and exit 2. The reading commands open the store read-only: a DuckLake while the sink writes
it, a single DuckDB file once no sink holds it.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

DuckDBPath = Annotated[
    Path | None,
    typer.Option(
        "--duckdb",
        help="the analytics store (TIERFLOW_DUCKDB): a DuckLake catalog (*.ducklake, its "
        "Parquet files in *.ducklake.files/) or a single DuckDB file (any other name)",
    ),
]


def _settings(**flags: Any) -> Any:
    from streams.settings import Settings

    return Settings(**{name: value for name, value in flags.items() if value is not None})


def _fail(code: str, message: str) -> typer.Exit:
    typer.secho(f"error [{code}]: {message}", err=True, fg="red")
    return typer.Exit(2)


def _open_reader(duckdb_path: Path | None) -> Any:
    from sink.store import StoreError, open_for_reading

    path = duckdb_path or _settings().duckdb
    try:
        return open_for_reading(path)
    except StoreError as error:
        raise _fail(error.code, str(error)) from None


def sink(
    duckdb: DuckDBPath = None,
    program: Annotated[
        Path | None, typer.Option(help="program file, for timezone and tiers (TIERFLOW_PROGRAM)")
    ] = None,
    bootstrap_servers: Annotated[
        str | None, typer.Option(help="Kafka bootstrap servers (TIERFLOW_BOOTSTRAP_SERVERS)")
    ] = None,
    topic_prefix: Annotated[
        str | None, typer.Option(help="prefix of every topic name (TIERFLOW_TOPIC_PREFIX)")
    ] = None,
    until_idle: Annotated[
        float | None,
        typer.Option("--until-idle", help="stop after the topics were idle this many seconds"),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="messages per DuckDB transaction, at most")] = (
        20_000
    ),
    maintain_every: Annotated[
        float,
        typer.Option(
            "--maintain-every",
            "--snapshot-every",
            help="seconds between upkeep passes of the store: small files merged, old "
            "snapshots expired, erasures finished in the files (0: only at stop). Readers see "
            "each batch when it commits, whatever this is. --snapshot-every: its former name",
        ),
    ] = 10.0,
    decode_workers: Annotated[
        int, typer.Option(help="processes decoding Avro into Arrow (0: in the sink's process)")
    ] = 0,
    port: Annotated[
        int | None,
        typer.Option(
            help="port of /metrics, /healthz and /readyz (TIERFLOW_SINK_PORT, default 6067; "
            "0: none)"
        ),
    ] = None,
) -> None:
    """Consume every tierflow topic into the analytics store (rows and offsets in one
    transaction); operations endpoints on --port."""
    from sink.consumer import Sink, SinkRefused
    from sink.operations import serve
    from sink.store import Store, StoreError
    from streams.logs import configure
    from streams.program import ProgramError, load_program

    settings = _settings(
        duckdb=duckdb,
        program=program,
        bootstrap_servers=bootstrap_servers,
        topic_prefix=topic_prefix,
        sink_port=port,
    )
    configure(settings.log_format, "info")
    try:
        loaded = load_program(settings.program)
    except ProgramError as error:
        raise _fail("bad_program", f"{settings.program}: {error}") from None
    try:
        store = Store.from_program(settings.duckdb, loaded)
    except StoreError as error:
        raise _fail(error.code, str(error)) from None
    runner = Sink(
        settings,
        store,
        batch_size=batch_size,
        until_idle=until_idle,
        maintain_every=maintain_every,
        decode_workers=decode_workers,
    )
    signal.signal(signal.SIGTERM, runner.stop)
    signal.signal(signal.SIGINT, runner.stop)
    server = serve(runner, settings.sink_bind, settings.sink_port, settings.sink_ready_max_lag)
    try:
        stats = runner.run()
    except SinkRefused as error:
        raise _fail(error.code, str(error)) from None
    finally:
        if server is not None:
            server.close()
        store.close()
    typer.echo(f"sink stopped: {stats.line()}")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"
    return str(value)


_KPI_ROWS = (
    ("enrollments", "enrollments"),
    ("member_base", "member base"),
    ("active_members", "active members"),
    ("engagement_rate", "engagement rate"),
    ("retention_rate", "retention rate"),
    ("purchase_frequency", "purchase frequency"),
    ("sale_receipts", "sale receipts"),
    ("sales_amount", "sales"),
    ("average_basket", "average basket"),
    ("lifetime_value", "lifetime value"),
    ("points_issued", "points issued"),
    ("points_redeemed", "points redeemed"),
    ("points_expired", "points expired"),
    ("redemption_rate", "redemption rate"),
    ("outstanding_points", "outstanding points"),
)
_DAY_COLUMNS = (
    ("enrollments", "enrolled"),
    ("active_members", "active"),
    ("sale_receipts", "receipts"),
    ("average_basket", "basket"),
    ("points_issued", "issued"),
    ("points_redeemed", "redeemed"),
    ("points_expired", "expired"),
    ("outstanding_points", "outstanding"),
)


def kpis(
    month: Annotated[
        str | None, typer.Option(help="YYYY-MM: that month's KPIs and its days")
    ] = None,
    months: Annotated[int, typer.Option(help="how many recent months to show")] = 6,
    duckdb: DuckDBPath = None,
) -> None:
    """Print the loyalty KPIs per month, KPIs as rows (definitions: docs/kpis.md)."""
    from rich.console import Console
    from rich.table import Table

    from sink.reading import kpi_days, kpi_months

    if month is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise _fail("bad_month", f"--month {month!r}: give it as YYYY-MM, e.g. 2024-03")
    con, read = _open_reader(duckdb)
    console = Console()
    shown = kpi_months(con)
    if month is not None:
        shown = [m for m in shown if m["month"] == month]
        if not shown:
            raise _fail("no_data", f"no KPIs for {month} in {read}")
    shown = shown[-months:]
    if not shown:
        raise _fail("no_data", f"no KPIs yet in {read}: has the sink written anything?")
    table = Table(title=f"loyalty KPIs ({read})")
    table.add_column("KPI")
    for row in shown:
        table.add_column(row["month"], justify="right")
    for column, label in _KPI_ROWS:
        table.add_row(label, *(_cell(row[column]) for row in shown))
    console.print(table)
    if month is not None:
        days = Table(title=f"per day, {month}")
        days.add_column("date", no_wrap=True, min_width=10)
        for _, label in _DAY_COLUMNS:
            days.add_column(label, justify="right")
        for row in kpi_days(con, month):
            days.add_row(str(row["local_date"]), *(_cell(row[c]) for c, _ in _DAY_COLUMNS))
        console.print(days)
    con.close()


def member(
    member_id: Annotated[str, typer.Argument(help="the member id")],
    limit: Annotated[int, typer.Option(help="feed entries to show, newest first")] = 50,
    duckdb: DuckDBPath = None,
) -> None:
    """Print a member's profile, tier, balance, points to next tier and the explained feed."""
    from rich.console import Console
    from rich.table import Table

    from sink.reading import member_feed, member_profile, receipt_lines

    con, _ = _open_reader(duckdb)
    profile = member_profile(con, member_id)
    if profile is None:
        raise _fail("unknown_member", f"no member {member_id!r} in the store")
    console = Console()
    facts = Table(title=f"member {member_id}", show_header=False)
    facts.add_column("field", style="bold")
    facts.add_column("value")
    for label, key in (
        ("status", "status"),
        ("name", "name"),
        ("email", "email"),
        ("phone", "phone"),
        ("enrolled", "enrolled_at"),
        ("tier", "tier"),
        ("multiplier", "multiplier"),
        ("balance", "balance"),
        ("qualifying points", "qualifying_points"),
        ("next tier", "next_tier"),
        ("points to next tier", "points_to_next_tier"),
        ("qualifying points at risk (30 d)", "points_at_risk_30d"),
        ("purchases", "sale_receipts"),
        ("net sales", "net_sales"),
        ("last purchase", "last_purchase_on"),
        ("points redeemed", "points_redeemed"),
    ):
        facts.add_row(label, _cell(profile[key]))
    console.print(facts)

    feed = member_feed(con, member_id, limit)
    lines = receipt_lines(
        con, member_id, sorted({e["receipt_id"] for e in feed if e["receipt_id"]})
    )
    table = Table(title=f"activity (newest {len(feed)})")
    for column in ("when (UTC)", "kind", "points", "QP", "balance", "why"):
        table.add_column(
            column, justify="right" if column in ("points", "QP", "balance") else "left"
        )
    for entry in feed:
        table.add_row(
            entry["occurred_at"].strftime("%Y-%m-%d %H:%M"),
            entry["kind"],
            _cell(entry["points"]),
            _cell(entry["qualifying_points"]),
            _cell(entry["balance_after"]),
            _explain(entry, lines.get(entry["receipt_id"] or "", [])),
        )
    console.print(table)
    con.close()


def _explain(entry: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    parts = [entry["description"]] if entry["description"] else []
    if entry["receipt_id"]:
        where = f" at store {entry['store_id']}" if entry["store_id"] else ""
        total = f" total {entry['receipt_total']}" if entry["receipt_total"] is not None else ""
        parts.append(f"receipt {entry['receipt_id']}{where}{total}")
        if lines and entry["kind"] in ("EARN", "NOT_CREDITED"):
            parts.append(
                "lines: "
                + ", ".join(f"{ln['sku']} ({ln['category']}) {ln['amount']}" for ln in lines)
            )
    if entry["campaign_id"]:
        parts.append(f"campaign {entry['campaign_id']}")
    if entry["reward_id"]:
        parts.append(f"reward {entry['reward_id']}")
    if entry["actor"]:
        parts.append(f"by {entry['actor']}")
    if entry["reason"] and entry["kind"] != "TIER_CHANGE":
        parts.append(f"reason: {entry['reason']}")
    return "; ".join(parts)


def report(
    out: Annotated[Path, typer.Option("--out", help="the HTML file to write")] = Path(
        "data/report.html"
    ),
    duckdb: DuckDBPath = None,
) -> None:
    """Write one self-contained HTML page of charts (works offline)."""
    from sink.report import write_report

    con, read = _open_reader(duckdb)
    written = write_report(con, str(read), out)
    con.close()
    typer.echo(f"report written: {written} ({written.stat().st_size // 1024} KiB)")
