"""`tierflow status` with fakes for the broker and the services: what makes it not healthy,
rates from two scrapes, the screen, the JSON document and the exit status; a real HTTP scrape
of a service, one that answers 503 and one that is not there."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from streams.cli import app
from streams.cli import status as status_module
from streams.cli.status import collect, render, scrape
from streams.settings import Settings

SETTINGS = Settings(topic_prefix="p.", partitions=2)
WORKER, SINK = "http://w1:6066", "http://s1:6067"


class FakeProbe:
    """The broker as `status` asks it: topics, each group's offsets, the dead letters."""

    def __init__(self, *, down: bool = False, missing: str | None = None) -> None:
        self.down, self.missing = down, missing
        self.lag = {("p.loyalty.ledger", 1): 120}

    def cluster(self) -> dict[str, Any]:
        if self.down:
            raise OSError("Failed to get metadata: Local: Broker transport failure")
        names = ["receipts", "member_events", "ledger", "tier_changes", "notifications"]
        names += ["dead_letters", "review_ticks", "members"]
        topics = [
            {"name": SETTINGS.topic(n), "contract": n, "exists": n != self.missing}
            | {"partitions": 0 if n == self.missing else 2}
            for n in names
        ]
        return {"reachable": True, "bootstrap": "b:9092", "cluster_id": "c1", "brokers": 3} | {
            "controller_id": 1,
            "topics": topics,
        }

    def group(self, service: str, group: str, names: tuple[str, ...], topics: list[Any]) -> Any:
        wanted = {SETTINGS.topic(n) for n in names}
        rows = [
            {"topic": t["name"], "partition": p, "committed": 10, "end": 10}
            | {"lag": self.lag.get((t["name"], p), 0) if service == "sink" else 0}
            for t in topics
            if t["name"] in wanted
            for p in range(t["partitions"])
        ]
        return {"service": service, "group": group, "state": "stable", "members": 1} | {
            "lag": sum(r["lag"] for r in rows),
            "partitions": rows,
        }

    def dead_letters(self, window_s: float) -> dict[str, Any]:
        return {"topic": SETTINGS.topic("dead_letters"), "window_s": window_s, "total": 3} | {
            "by_code": {"wrong_currency": 2, "bad_framing": 1},
            "complete": True,
        }


class FakeScraper:
    """Services answering /readyz and /metrics; each call is one scrape, a second later."""

    def __init__(self, ready: dict[str, bool], down: tuple[str, ...] = ()) -> None:
        self.ready, self.down, self.calls = ready, down, 0
        self.at = 100.0

    def __call__(self, url: str) -> dict[str, Any]:
        self.calls += 1
        if url in self.down:
            return {"url": url, "reachable": False, "error": "connection refused"}
        seen = self.calls > len(self.ready)  # the second round
        at = self.at + (1.0 if seen else 0.0)
        if url == WORKER:
            samples = {"tierflow_inputs_total": 1000 + 250 * seen, "tierflow_ready": 1}
            samples |= {"tierflow_dead_letters_total": 5 + 2 * seen}
            samples |= {"tierflow_assigned_partitions": 4}
            readyz = {"ready": self.ready[url], "lag": 0, "reasons": []}
        else:
            samples = {"tierflow_sink_rows_total": 5000 + 4000 * seen}
            samples |= {"tierflow_sink_messages_total": 2000 + 1500 * seen}
            samples |= {"tierflow_sink_data_age_seconds": 2.5}
            samples |= {"tierflow_sink_assigned_partitions": 14}
            reasons = [] if self.ready[url] else ["lag 60000 above 50000"]
            readyz = {"ready": self.ready[url], "lag": 120, "reasons": reasons}
        return {"url": url, "reachable": True, "ready": self.ready[url], "readyz": readyz} | {
            "samples": samples,
            "at": at,
        }


def run(probe: Any, scraper: Any) -> dict[str, Any]:
    report, _ = collect(
        SETTINGS, [WORKER], [SINK], probe=probe, scraper=scraper, pause=lambda _: None
    )
    return report


def screen(report: dict[str, Any]) -> str:
    console = Console(record=True, width=120)
    console.print(render(report))
    return console.export_text()


def test_all_ready_is_healthy_with_rates_from_two_scrapes_a_second_apart() -> None:
    scraper = FakeScraper({WORKER: True, SINK: True})
    report = run(FakeProbe(), scraper)
    assert report["healthy"] and report["problems"] == []
    assert scraper.calls == 4  # each service twice
    worker, sink = report["services"]
    assert worker["rates"] == {"inputs_per_s": 250.0, "dead_letters_per_s": 2.0}
    assert sink["rates"] == {"rows_per_s": 4000.0, "messages_per_s": 1500.0}
    assert sink["data_age_s"] == 2.5 and sink["partitions"] == 14
    assert {g["service"]: g["lag"] for g in report["groups"]} == {"worker": 0, "sink": 120}
    assert report["groups"][0]["group"] == "p.tierflow"  # faust_app_id
    assert report["groups"][1]["group"] == "p.tierflow-sink"
    assert report["dead_letters"]["by_code"] == {"wrong_currency": 2, "bad_framing": 1}
    json.dumps(report)  # one JSON document

    text = screen(report)
    assert "tierflow status: HEALTHY" in text
    assert "250.0 inputs/s" in text and "1,500.0 msgs/s" in text
    assert "sink: p1 120" in text  # the partition behind, with its lag
    assert "wrong_currency" in text and "dead letters, last 1 h (p.loyalty.dead-letters): 3" in text


def test_a_service_not_ready_or_down_makes_it_not_healthy_and_says_why() -> None:
    scraper = FakeScraper({WORKER: True, SINK: False}, down=(WORKER,))
    report = run(FakeProbe(missing="review_ticks"), scraper)
    assert report["problems"] == [
        "topic p.loyalty.review-ticks missing",
        "worker http://w1:6066 not reachable: connection refused",
        "sink http://s1:6067 not ready: lag 60000 above 50000",
    ]
    assert not report["healthy"]
    text = screen(report)
    assert "NOT HEALTHY (3)" in text and "down" in text and "missing" in text


def test_an_unreachable_broker_is_reported_not_raised() -> None:
    report = run(FakeProbe(down=True), FakeScraper({WORKER: True, SINK: True}))
    assert report["broker"] == {
        "reachable": False,
        "bootstrap": SETTINGS.bootstrap,
        "error": "failed to get metadata: local: broker transport failure",
    }
    assert report["groups"] == [] and "error" in report["dead_letters"]
    assert report["problems"][0].startswith(f"broker {SETTINGS.bootstrap} not reachable")
    text = screen(report)
    assert "NOT REACHABLE" in text and "dead letters: not read" in text


def test_input_topics_with_different_partition_counts_are_a_problem() -> None:
    probe = FakeProbe()
    cluster = probe.cluster()
    cluster["topics"][1]["partitions"] = 3
    probe.cluster = lambda: cluster  # type: ignore[method-assign]
    report = run(probe, FakeScraper({WORKER: True, SINK: True}))
    assert report["problems"] == ["input topics not co-partitioned (partition counts differ)"]


def test_status_json_prints_one_document_and_exits_1_when_not_healthy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(status_module, "KafkaProbe", lambda settings: FakeProbe())
    monkeypatch.setattr(status_module, "scrape", FakeScraper({WORKER: True, SINK: False}))
    monkeypatch.setattr(status_module.time, "sleep", lambda _: None)
    result = CliRunner().invoke(app, ["status", "--json", "--worker", WORKER, "--sink", SINK])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["healthy"] is False and len(report["services"]) == 2

    monkeypatch.setattr(status_module, "scrape", FakeScraper({WORKER: True, SINK: True}))
    result = CliRunner().invoke(app, ["status", "--worker", WORKER, "--sink", SINK])
    assert result.exit_code == 0 and "HEALTHY" in result.stdout


class _Service(BaseHTTPRequestHandler):
    ready = False

    def do_GET(self) -> None:
        if self.path == "/readyz":
            body = json.dumps({"ready": self.ready, "lag": 7, "reasons": ["lag 7 above 5"]})
            self._answer(200 if self.ready else 503, body.encode())
        else:
            self._answer(
                200,
                b"# TYPE tierflow_sink_rows_total counter\n"
                b'tierflow_sink_rows_total{table="ledger"} 3\n'
                b'tierflow_sink_rows_total{table="receipts"} 4\n',
            )

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_scrape_reads_readyz_even_when_503_and_sums_the_families() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        found = scrape(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
    assert found["reachable"] and found["ready"] is False
    assert found["readyz"]["reasons"] == ["lag 7 above 5"]
    assert found["samples"]["tierflow_sink_rows_total"] == 7


class _NotTierflow(_Service):
    def do_GET(self) -> None:
        self._answer(200, b"<html>a web page</html>")


def test_scrape_of_something_else_than_tierflow_says_so_without_raising() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotTierflow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        found = scrape(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
    assert found["reachable"] is False and found["error"].startswith("not a tierflow service")


def test_scrape_of_nothing_listening_says_so() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    found = scrape(f"http://127.0.0.1:{port}")
    assert found == {
        "url": f"http://127.0.0.1:{port}",
        "reachable": False,
        "error": "connection refused",
    }


def test_watch_refreshes_until_interrupted(monkeypatch: pytest.MonkeyPatch) -> None:
    scraper = FakeScraper({WORKER: True, SINK: True})
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 3:
            raise KeyboardInterrupt  # Ctrl-C during the third wait

    monkeypatch.setattr(status_module, "KafkaProbe", lambda settings: FakeProbe())
    monkeypatch.setattr(status_module, "scrape", scraper)
    monkeypatch.setattr(status_module.time, "sleep", sleep)
    arguments = ["status", "--watch", "--json", "--interval", "5", "--worker", WORKER]
    result = CliRunner().invoke(app, [*arguments, "--sink", SINK])
    assert result.exit_code == 0, result.output
    documents = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(documents) == 3 and naps == [5, 5, 5]
    assert scraper.calls == 4 + 2 + 2  # two scrapes first, then one a refresh
    assert all(d["healthy"] for d in documents)
