"""`GET /members/{id}` answers from either of two workers of one group, for any member: the
worker that does not own the member's partition routes the request to the one that does."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from live_worker import TopicReader, WorkerProcess, free_port
from test_live_worked_examples import PROGRAM, enrolled, sale

pytestmark = pytest.mark.integration

MEMBERS = [f"M-API-{n:02d}" for n in range(24)]


def lookup(
    worker: WorkerProcess, path: str, timeout: float = 60.0, settled: tuple[int, ...] = (200, 404)
) -> tuple[int, dict[str, Any]]:
    """GET with a deadline: a rebalance answers 5xx for a moment, then the owner answers."""
    deadline = time.monotonic() + timeout
    status, body = 0, b""
    while time.monotonic() < deadline:
        try:
            status, body = worker.get(path)
        except OSError:
            status = 0
        if status in settled:
            return status, json.loads(body)
        time.sleep(0.3)
    raise AssertionError(f"{worker.url}{path}: last status {status} {body[:200]!r}")


def lookup_known(worker: WorkerProcess, path: str) -> tuple[int, dict[str, Any]]:
    """A known member's lookup. Right after the second worker joins, a partition's new owner
    may still be catching up on the table's changelog and answer 404 for a moment (the short
    unavailability during a move that issue 5 allows); the wait is measured and printed."""
    began = time.monotonic()
    answer = lookup(worker, path, timeout=30.0, settled=(200,))
    waited = time.monotonic() - began
    if waited > 1.0:
        print(f"{worker.url}{path}: answered 200 after {waited:.1f} s")
    return answer


def test_member_lookup_answers_from_either_of_two_workers(
    tierflow_settings: Any, tmp_path: Path
) -> None:
    from streams.broker.producer import LoyaltyProducer

    settings = tierflow_settings(program=PROGRAM)
    first = WorkerProcess(settings, free_port(), tmp_path / "one", tmp_path / "one.log").start()
    second = WorkerProcess(settings, free_port(), tmp_path / "two", tmp_path / "two.log")
    reader = TopicReader(settings, ("ledger",))
    try:
        first.wait_ready()
        producer = LoyaltyProducer(settings)
        for n, member_id in enumerate(MEMBERS):
            producer.send(enrolled(member_id, 2))
            producer.send(sale(member_id, f"R-{member_id}", 3, 15, f"{100 + n}.00"))
        producer.flush()
        reader.until(lambda got: len(got["ledger"]) >= len(MEMBERS))
        second.start().wait_ready()

        answers = {}
        for member_id in MEMBERS:
            from_first = lookup_known(first, f"/members/{member_id}")
            from_second = lookup_known(second, f"/members/{member_id}")
            assert from_first == from_second, member_id
            answers[member_id] = from_first
        unknown = [lookup(w, "/members/M-NOBODY")[0] for w in (first, second)]
        personal = lookup(second, f"/members/{MEMBERS[0]}?include_personal=true")[1]
        _, routes = first.get("/router/")
    finally:
        second.stop()
        first.stop()
        reader.close()

    for n, member_id in enumerate(MEMBERS):
        status, body = answers[member_id]
        assert status == 200
        assert body["balance"] == 100 + n and body["tier"] == "Member"
        assert body["points_to_next_tier"] == 10_000 - (100 + n)
        assert "personal" not in body and "email" not in json.dumps(body)
    assert unknown == [404, 404]
    assert personal["personal"]["email"] == f"{MEMBERS[0].lower()}@mail.example"
    hosts_with_partitions = [
        url for url, tables in json.loads(routes).items() if any(tables.values())
    ]
    assert len(hosts_with_partitions) == 2, routes  # so some lookups were routed
