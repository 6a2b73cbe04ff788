"""The sink on the real broker: what was produced is what the store holds, exactly once, even
after the sink process is killed mid-stream and restarted; readers follow it as it writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agents.rules.events import LineItem, MemberEvent, MemberEventType, Receipt, ReceiptKind
from agents.rules.outputs import (
    Channel,
    Direction,
    LedgerEntry,
    LedgerKind,
    Notification,
    TierChange,
)
from agents.rules.view import MemberView
from schemas.codec import Codec
from schemas.errors import CODES
from schemas.records import MemberSnapshot
from sink.consumer import Sink, consumer_lag
from sink.lake import open_for_reading
from sink.store import Store

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
START = datetime(2024, 1, 1, 15, tzinfo=UTC)


def _receipt(i: int) -> Receipt:
    amount = Decimal(10 + i % 90)
    lines = (
        LineItem("sku-a", "grocery", 1, amount, amount),
        LineItem("sku-b", "gift_card", 2, Decimal("2.50"), Decimal("5.00")),
    )
    return Receipt(
        receipt_id=f"r{i}",
        member_id=f"m{i % 97}",
        store_id=f"s{i % 7}",
        occurred_at=START + timedelta(minutes=17 * i),
        currency="USD",
        kind=ReceiptKind.SALE,
        lines=lines,
        total=amount + Decimal("5.00"),
    )


def _ledger(i: int) -> LedgerEntry:
    return LedgerEntry(
        entry_id=f"l{i}",
        member_id=f"m{i % 97}",
        occurred_at=START + timedelta(minutes=17 * i),
        kind=LedgerKind.EARN,
        points=10 + i % 90,
        qualifying_points=10 + i % 90,
        balance_after=i,
        tier="Member",
        multiplier=Decimal(1),
        receipt_id=f"r{i}",
        description="Member (x1); excluded: gift_card",
    )


def _snapshot(member_id: str, status: str, email: str | None) -> MemberSnapshot:
    view = MemberView(
        member_id=member_id,
        status=status,
        tier="Member",
        balance=25,
        qualifying_points=0,
        next_tier="Silver",
        points_to_next_tier=10_000,
        points_at_risk_30d=0,
        enrolled_at=START,
        name=None if email is None else "Someone",
        email=email,
        phone=None,
        multiplier=Decimal(1),
    )
    return MemberSnapshot(view, START + timedelta(days=4))


def _produce(settings: Any, messages: list[tuple[str, str, bytes]]) -> None:
    from confluent_kafka import Producer

    from streams.broker.producer import PRODUCER_CONFIG

    producer = Producer(settings.kafka_client_config() | PRODUCER_CONFIG)
    for index, (topic, key, value) in enumerate(messages):
        producer.produce(settings.topic(topic), key=key.encode(), value=value)
        if index % 1000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0, "messages left undelivered"


def _stream(count: int, codec: Codec) -> list[tuple[str, str, bytes]]:
    messages = []
    for i in range(count):
        receipt, entry = _receipt(i), _ledger(i)
        messages.append(("receipts", receipt.member_id, codec.encode(receipt)))
        messages.append(("ledger", entry.member_id, codec.encode(entry)))
    return messages


def _wait(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    seen = None
    while time.monotonic() < deadline:
        seen = condition()
        if seen:
            return seen
        time.sleep(0.2)  # polling a subprocess's progress, with a deadline
    raise AssertionError(f"{what}: not within {seconds} s (last seen: {seen!r})")


@pytest.mark.parametrize("decode_workers", [0, 2])
def test_the_sinks_tables_match_what_was_produced(
    tierflow_settings: Callable[..., Any], tmp_path: Path, decode_workers: int
) -> None:
    settings = tierflow_settings(partitions=4)
    codec = Codec()
    messages = _stream(2_000, codec)
    when = START + timedelta(days=3)
    messages += [
        (
            "member_events",
            "m1",
            codec.encode(
                MemberEvent(
                    MemberEventType.ENROLLED, "e1", "m1", START, name="Ann", email="ann@example.org"
                )
            ),
        ),
        (
            "member_events",
            "m1",
            codec.encode(
                MemberEvent(
                    MemberEventType.POINTS_ADJUSTED,
                    "e2",
                    "m1",
                    when,
                    points=25,
                    actor="agent-7",
                    reason="goodwill",
                )
            ),
        ),
        (
            "tier_changes",
            "m1",
            codec.encode(
                TierChange(
                    "t1", "m1", "Member", "Silver", Direction.UP, 10_000, when, "reached 10000"
                )
            ),
        ),
        (
            "notifications",
            "m1",
            codec.encode(
                Notification(
                    "n1", "m1", Channel.EMAIL, "tier_up", "ann@example.org", "Up", "Hi Ann", when
                )
            ),
        ),
        ("ledger", "m2", b"\x00not avro at all"),
        ("members", "m1", codec.encode(_snapshot("m1", "active", "ann@example.org"))),
        ("members", "m2", codec.encode(_snapshot("m2", "active", "bo@example.org"))),
        ("members", "m1", codec.encode(_snapshot("m1", "closed", None))),
    ]
    _produce(settings, messages)

    store = Store(tmp_path / "sink.ducklake", "America/New_York")
    sink = Sink(settings, store, until_idle=3.0, maintain_every=0, decode_workers=decode_workers)
    stats = sink.run()

    con = store.connection
    assert stats.messages == len(messages)
    assert stats.undecodable == 1
    assert con.execute("SELECT count(*), sum(total) FROM receipts").fetchone() == (
        2_000,
        sum(_receipt(i).total for i in range(2_000)),
    )
    assert con.execute("SELECT count(*), sum(amount) FROM receipt_lines").fetchone() == (
        4_000,
        sum(line.amount for i in range(2_000) for line in _receipt(i).lines),
    )
    assert con.execute("SELECT count(*), sum(points) FROM ledger").fetchone() == (
        2_000,
        sum(_ledger(i).points for i in range(2_000)),
    )
    for table in ("member_events", "tier_changes", "notifications"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (
            2 if table == "member_events" else 1,
        )
    bad = con.execute("SELECT source_topic, payload, error_code FROM dead_letters").fetchall()
    assert [(topic, payload) for topic, payload, _ in bad] == [
        (settings.topic("ledger"), b"\x00not avro at all")
    ]
    assert bad[0][2] in CODES
    members = con.execute("SELECT member_id, status, email FROM members ORDER BY member_id")
    assert members.fetchall() == [("m1", "closed", None), ("m2", "active", "bo@example.org")]
    erased = con.execute(
        "SELECT count(*) FROM member_events WHERE email IS NOT NULL OR name IS NOT NULL"
    ).fetchone()
    assert erased == (0,), "the closed snapshot erased m1's profile from member_events"
    assert con.execute("SELECT recipient FROM notifications").fetchall() == [(None,)]
    stored = store.stored_offsets()
    assert sum(stored.values()) == len(messages), "next offsets add up to every message"
    lag = consumer_lag(settings, store)
    assert all(behind == 0 for behind in lag.values()), lag
    store.close()


def _sink_process(settings: Any, path: Path, *extra: str) -> subprocess.Popen[str]:
    command = [
        str(Path(sys.executable).parent / "tierflow"),
        "sink",
        "--duckdb",
        str(path),
        "--program",
        str(REPO / "streams" / "program.example.toml"),
        "--bootstrap-servers",
        settings.bootstrap,
        "--topic-prefix",
        settings.topic_prefix,
        *extra,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIERFLOW_")}
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _stored_receipts(path: Path) -> int:
    """Receipts a reader sees in the lake while the sink writes it."""
    if not path.exists():
        return 0
    con, _ = open_for_reading(path)
    try:
        row = con.execute("SELECT count(*) FROM receipts").fetchone()
        return int(row[0]) if row else 0
    except Exception:  # the sink has not created its tables yet
        return 0
    finally:
        con.close()


def test_a_killed_sink_restarts_with_no_duplicate_and_no_missing_row(
    tierflow_settings: Callable[..., Any], tmp_path: Path
) -> None:
    settings = tierflow_settings(partitions=4)
    count = 30_000
    _produce(settings, _stream(count, Codec()))
    path = tmp_path / "sink.ducklake"

    first = _sink_process(settings, path, "--batch-size", "500", "--maintain-every", "1")
    try:
        seen = _wait(lambda: _stored_receipts(path), 120, "the sink's first rows")
        assert seen < count, "the sink finished before it could be killed: make the stream longer"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL

    second = _sink_process(settings, path, "--until-idle", "3", "--maintain-every", "0")
    output, _ = second.communicate(timeout=300)
    assert second.returncode == 0, output

    con, _ = open_for_reading(path)
    receipts = con.execute("SELECT count(*), count(DISTINCT receipt_id), sum(total) FROM receipts")
    assert receipts.fetchone() == (count, count, sum(_receipt(i).total for i in range(count)))
    assert con.execute("SELECT count(*) FROM receipt_lines").fetchone() == (2 * count,)
    ledger = con.execute("SELECT count(*), count(DISTINCT entry_id), sum(points) FROM ledger")
    assert ledger.fetchone() == (count, count, sum(_ledger(i).points for i in range(count)))
    offsets = con.execute("SELECT sum(next_offset) FROM sink_offsets").fetchone()
    assert offsets == (2 * count,)
    con.close()
    assert "pid" not in output or "another tierflow sink" not in output
    assert "@" not in output, "no personal data (or anything like it) in the sink's logs"


def test_a_reader_follows_the_running_sink_and_sigterm_stops_it_after_its_batch(
    tierflow_settings: Callable[..., Any], tmp_path: Path
) -> None:
    settings = tierflow_settings(partitions=2)
    _produce(settings, _stream(500, Codec()))
    path = tmp_path / "sink.ducklake"
    sink = _sink_process(settings, path)
    try:
        _wait(lambda: _stored_receipts(path) == 500, 120, "all 500 receipts seen by a reader")
        sink.send_signal(signal.SIGTERM)
        output, _ = sink.communicate(timeout=60)
    finally:
        if sink.poll() is None:
            sink.kill()
    assert sink.returncode == 0, output
    assert "event=sink_stopped messages=1000" in output
    con, _ = open_for_reading(path)
    assert con.execute("SELECT count(*) FROM ledger").fetchone() == (500,)
    con.close()
