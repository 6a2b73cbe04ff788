"""The Grafana dashboard: it parses, every panel reads the Prometheus datasource variable, and
every query is PromQL that Prometheus accepts (checked by promtool as recording rules). That
each names only families the worker and sink export: tests/ops/test_live_services.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from ops_files import as_prometheus, dashboard, exprs, metric_names, panels, promtool


def test_the_dashboard_has_a_prometheus_datasource_variable_every_panel_uses() -> None:
    board = dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    queried = [p for p in panels(board) if p["type"] != "row"]
    assert len(queried) >= 15
    for panel in queried:
        sources = [panel["datasource"], *(t["datasource"] for t in panel["targets"])]
        assert all(s == {"type": "prometheus", "uid": "${datasource}"} for s in sources), panel
        assert panel["targets"] and panel["description"], panel["title"]
    titles = [p["title"] for p in panels(board)]
    assert len(titles) == len(set(titles))


def test_panels_do_not_overlap() -> None:
    taken: set[tuple[int, int]] = set()
    for panel in panels(dashboard()):
        box = panel["gridPos"]
        cells = {
            (x, y)
            for x in range(box["x"], box["x"] + box["w"])
            for y in range(box["y"], box["y"] + box["h"])
        }
        assert box["x"] + box["w"] <= 24 and not cells & taken, panel["title"]
        taken |= cells


def test_every_query_is_promql_prometheus_accepts(tmp_path: Path) -> None:
    queries = exprs(dashboard())
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{n}", "expr": as_prometheus(expr)}
                    for n, (_, expr) in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump(rules))
    checked = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(queries)} rules found" in checked.stdout


def test_metric_names_are_read_from_promql_as_prometheus_would() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, topic) (rate(tierflow_batch_seconds_bucket{job=~"a"}'
        "[$__rate_interval]))) / on (job) group_left tierflow_ready and time() - up"
    )
    assert metric_names(expr) == {"tierflow_batch_seconds_bucket", "tierflow_ready", "up"}
    every = set().union(*(metric_names(expr) for _, expr in exprs(dashboard())))
    assert "tierflow_sink_rows_total" in every and "tierflow_inputs_total" in every
