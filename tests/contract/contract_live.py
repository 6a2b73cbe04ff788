"""A live worker fed rules.md's worked examples, for the contract tests: what tierflow's own
codec reads on the ledger and tier-change topics, by offset, to hold a JVM reader against."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from java_client import JavaRun
from live_worker import TopicReader, WorkerProcess, free_port, wait_consumed
from test_live_worked_examples import offline, worked_examples

OUTPUTS = ("ledger", "tier_changes")
SCHEMAS = {"ledger": "io.tierflow.v1.LedgerEntry", "tier_changes": "io.tierflow.v1.TierChange"}
Offset = tuple[str, int, int]
Wire = dict[Offset, tuple[str, dict[str, Any]]]
RACE = "Ignoring missing topic"


def start_worker(settings: Any, tmp_path: Path) -> WorkerProcess:
    """A worker whose member API answers.

    A start-up race of the worker (outside these tests): when Faust's first assignment comes
    before the broker's metadata lists the changelog topic it has just created, the log says
    "Ignoring missing topic", the member table gets no partition, and the worker stays unready
    until a metadata refresh minutes later. Such a worker is restarted once; any other
    failure to get ready fails the test.
    """
    for attempt in (1, 2):
        worker = WorkerProcess(
            settings, free_port(), tmp_path / "data", tmp_path / f"worker-{attempt}.log"
        ).start()
        try:
            worker.wait_ready(timeout=120)
        except AssertionError:
            raced = RACE in worker.log_path.read_text(errors="replace")
            worker.stop()
            if attempt == 2 or not raced:
                raise
        else:
            return worker
    raise AssertionError("unreachable")


def run_worked_examples(settings: Any, tmp_path: Path) -> Wire:
    """rules.md's worked examples through a live worker. Returns each ledger entry and tier
    change by (topic, partition, offset), as tierflow's codec reads it: (topic name, record).
    The outputs are first checked against the rules core run offline."""
    from streams.broker.producer import LoyaltyProducer

    worker = start_worker(settings, tmp_path)
    reader = TopicReader(settings, OUTPUTS)
    try:
        events, receipts = worked_examples()
        producer = LoyaltyProducer(settings)
        for event in events:
            producer.send(event)
        producer.flush()
        wait_consumed(settings, "member_events")
        for receipt in receipts:
            producer.send(receipt)
        producer.flush()
        expected = offline([*events, *receipts], reader.codec)
        sizes = {name: len(expected[name]) for name in OUTPUTS}
        seen = reader.until(lambda got: all(len(got[n]) >= sizes[n] for n in OUTPUTS))
        reader.settle(quiet=2.0)
    finally:
        worker.stop()
        reader.close()
    for name in OUTPUTS:
        assert sorted(seen[name], key=repr) == sorted(expected[name], key=repr), name
    return {
        (message.topic(), message.partition(), message.offset()): (name, record)
        for name in OUTPUTS
        for message, record in zip(reader.raw[name], reader.records[name], strict=True)
    }


def assert_same_records(run: JavaRun, wire: Wire) -> None:
    """Java decoded exactly the records at the offsets tierflow's codec read, field for field."""
    by_offset = {(line["topic"], line["partition"], line["offset"]): line for line in run.records}
    assert len(by_offset) == len(run.records), "a record was printed twice"
    assert sorted(by_offset) == sorted(wire)
    for offset, (name, python) in wire.items():
        line = by_offset[offset]
        assert (line["schema"], line["key"]) == (SCHEMAS[name], python["member_id"]), offset
        assert as_python(line["record"], python) == python, offset


def as_python(java: dict[str, Any], like: dict[str, Any]) -> dict[str, Any]:
    """Java's JSON values in the types tierflow's codec gives (times are ISO-8601 instants,
    decimals plain strings, enums their symbols)."""
    converted: dict[str, Any] = {}
    for field, value in java.items():
        kind = type(like.get(field))
        if kind is datetime and isinstance(value, str):
            converted[field] = datetime.fromisoformat(value)
        elif kind is Decimal and isinstance(value, str):
            # The scale is part of the value: "2.0000" must not pass for "2".
            converted[field] = Decimal(value) if value == str(like[field]) else value
        else:
            converted[field] = value
    return converted


def points_of(run: JavaRun) -> tuple[dict[str, int], list[int], list[tuple[Any, ...]]]:
    """From Java's output alone: points earned per receipt, points taken back by returns, and
    the upgrades to Gold (member, from tier, direction, qualifying points)."""
    records = [line["record"] for line in run.records]
    earned = {r["receipt_id"]: r["points"] for r in records if r.get("kind") == "EARN"}
    taken_back = [r["points"] for r in records if r.get("kind") == "RETURN"]
    gold = [
        (r["member_id"], r["from_tier"], r["direction"], r["qualifying_points"])
        for r in records
        if r.get("to_tier") == "Gold"
    ]
    return earned, taken_back, gold
