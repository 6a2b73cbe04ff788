"""The alert rules, checked by Prometheus's own promtool: they load, the example configuration
that names them loads, and each alert fires on its case and stays quiet on its near misses
(ops/prometheus/alerts.test.yml)."""

from __future__ import annotations

import subprocess

from ops_files import ALERT_CASES, ALERTS, PROMETHEUS_CONFIG, REPO, promtool


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *arguments], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_promtool_accepts_the_alert_rules() -> None:
    checked = run("check", "rules", "--lint=all", str(ALERTS))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 9 rules found" in checked.stdout


def test_each_alert_fires_on_its_case_and_not_on_its_near_misses() -> None:
    tested = run("test", "rules", str(ALERT_CASES))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_has_a_case_that_fires_and_a_runbook_section() -> None:
    import yaml

    rules = yaml.safe_load(ALERTS.read_text())["groups"][0]["rules"]
    cases = yaml.safe_load(ALERT_CASES.read_text())["tests"]
    firing = {
        check["alertname"]
        for case in cases
        for check in case["alert_rule_test"]
        if check.get("exp_alerts")
    }
    assert firing == {rule["alert"] for rule in rules}
    operations = (REPO / "docs" / "operations.md").read_text()
    for rule in rules:
        anchor = rule["annotations"]["runbook"].split("#")[1]
        assert f"### {rule['alert']}" in operations and anchor == rule["alert"].lower()


def test_the_example_prometheus_configuration_loads_with_the_rules() -> None:
    checked = run("check", "config", str(PROMETHEUS_CONFIG))
    assert checked.returncode == 0, checked.stdout + checked.stderr
