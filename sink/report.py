"""`tierflow report`: one self-contained HTML page of charts (plotly inlined: works offline)."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from sink.reading import query, rows

# The charts, in page order: (element id, title). Tests count them in the rendered page.
CHARTS = (
    ("tier-distribution", "Members per tier, day by day"),
    ("enrollments-active", "Enrollments and active members per month"),
    ("points-flow", "Points issued, redeemed and expired per month"),
    ("top-stores", "Top stores by net sales"),
    ("campaigns", "Campaign performance"),
    ("tier-migrations", "Tier migrations (from -> to, all time)"),
)


def _figures(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    import plotly.graph_objects as go

    figures: dict[str, Any] = {}

    dist = rows(con, "SELECT * FROM tier_distribution_daily")
    tiers = sorted(
        {(r["tier_rank"] if r["tier_rank"] is not None else 99, r["tier"]) for r in dist}
    )
    fig = go.Figure()
    for _, tier in tiers:
        mine = [r for r in dist if r["tier"] == tier]
        fig.add_trace(
            go.Scatter(
                x=[r["local_date"] for r in mine],
                y=[r["members"] for r in mine],
                name=tier,
                stackgroup="tiers",
                mode="lines",
            )
        )
    figures["tier-distribution"] = fig

    months = rows(con, "SELECT * FROM kpi_monthly ORDER BY month")
    labels = [m["month"] for m in months]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=labels, y=[m["enrollments"] for m in months], name="enrollments"))
    fig.add_trace(
        go.Scatter(x=labels, y=[m["active_members"] for m in months], name="active members")
    )
    fig.update_xaxes(type="category")
    figures["enrollments-active"] = fig

    fig = go.Figure()
    for column in ("points_issued", "points_redeemed", "points_expired"):
        fig.add_trace(
            go.Bar(x=labels, y=[m[column] for m in months], name=column.replace("_", " "))
        )
    fig.update_layout(barmode="group").update_xaxes(type="category")
    figures["points-flow"] = fig

    stores = query(con, "top_stores", limit=10)
    figures["top-stores"] = go.Figure(
        go.Bar(
            x=[float(s["net_sales"]) for s in stores],
            y=[s["store_id"] for s in stores],
            orientation="h",
            name="net sales",
        )
    ).update_layout(yaxis={"autorange": "reversed"})

    campaigns = rows(con, "SELECT * FROM campaign_performance")
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=[c["campaign_id"] for c in campaigns],
            y=[c["bonus_points"] for c in campaigns],
            name="bonus points",
            offsetgroup="points",
        )
    )
    fig.add_trace(
        go.Bar(
            x=[c["campaign_id"] for c in campaigns],
            y=[float(c["sales_amount"]) for c in campaigns],
            name="sales on bonus receipts",
            yaxis="y2",
            offsetgroup="sales",
        )
    )
    fig.update_layout(
        barmode="group",
        yaxis2={"overlaying": "y", "side": "right", "title": "sales"},
        yaxis={"title": "bonus points"},
    )
    figures["campaigns"] = fig

    matrix = query(con, "tier_migration_matrix")
    order = sorted(
        {(r["from_rank"] if r["from_rank"] is not None else 99, r["from_tier"]) for r in matrix}
        | {(r["to_rank"] if r["to_rank"] is not None else 99, r["to_tier"]) for r in matrix}
    )
    names = [name for _, name in order]
    counts = {(r["from_tier"], r["to_tier"]): int(r["changes"]) for r in matrix}
    figures["tier-migrations"] = go.Figure(
        go.Heatmap(
            z=[[counts.get((src, dst), 0) for dst in names] for src in names],
            x=names,
            y=names,
            colorscale="Blues",
            text=[[str(counts.get((src, dst), 0)) for dst in names] for src in names],
            texttemplate="%{text}",
        )
    ).update_layout(xaxis_title="to tier", yaxis_title="from tier", yaxis={"autorange": "reversed"})
    return figures


def render_report(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """The report page for the store `con` reads (`source` names it on the page)."""
    import plotly.io as pio

    figures = _figures(con)
    sections = []
    for index, (element_id, title) in enumerate(CHARTS):
        figure = figures[element_id].update_layout(
            title=title, height=420, margin={"l": 60, "r": 30, "t": 60, "b": 50}
        )
        sections.append(
            pio.to_html(
                figure,
                full_html=False,
                include_plotlyjs=index == 0,  # the library once, inline: no CDN, works offline
                div_id=element_id,
                config={"displaylogo": False, "responsive": True},
            )
        )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(f'<section class="chart">{section}</section>' for section in sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tierflow report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1100px; }}
.chart {{ margin-bottom: 1.5rem; border: 1px solid #ddd; border-radius: 6px; padding: .5rem; }}
</style>
</head>
<body>
<h1>tierflow report</h1>
<p>From {html.escape(source)}, made {stamp}. Definitions of every KPI: docs/kpis.md.</p>
{body}
</body>
</html>
"""


def write_report(con: duckdb.DuckDBPyConnection, source: str, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(con, source), encoding="utf-8")
    return out
