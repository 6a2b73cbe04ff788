"""The store, in both formats: migrations, one transaction per batch and its offsets,
idempotency, erasure down to the files, one writer and readers beside it."""

from __future__ import annotations

import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from sink_dataset import TIERS, TIMEZONE
from sink_records import ledger, member_event, notification, receipt, snapshot

from sink.batch import BatchBuilder
from sink.lake import data_path
from sink.store import Store, StoreError, migrations, open_for_reading

REPO = Path(__file__).resolve().parents[2]

EMAIL = "ann.unique.3f9a@example.org"


def count(store: Store, table: str) -> int:
    row = store.connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_migrations_are_recorded_and_applied_once(store_path: Path) -> None:
    path = store_path
    with Store(path, TIMEZONE) as first:
        versions = [
            v
            for v, *_ in first.connection.execute(
                "SELECT version FROM schema_migrations ORDER BY version"
            ).fetchall()
        ]
        assert versions == [version for version, _, _ in migrations()]
        assert first.apply_migrations() == []
    with Store(path, TIMEZONE) as again:
        assert again.apply_migrations() == []
        assert count(again, "schema_migrations") == len(migrations())


def test_batch_rows_and_offsets_commit_together(store: Store) -> None:
    good = BatchBuilder()
    good.add(*receipt("r1", "m1", "2024-05-01T12:00", "10.00"), ("pos.receipts", 3, 41))
    store.append_batch(good.tables(), {("pos.receipts", 3): 42})

    broken = BatchBuilder()
    broken.add(*receipt("r2", "m1", "2024-05-02T12:00", "10.00"))
    broken.add(*ledger("l1", "m1", "2024-05-02T12:00", "EARN", 10, tier=None))  # NOT NULL
    with pytest.raises(duckdb.Error):
        store.append_batch(broken.tables(), {("pos.receipts", 3): 43})

    assert count(store, "receipts") == 1, "the failed batch's receipt must not be kept"
    assert count(store, "ledger") == 0
    assert store.stored_offsets() == {("pos.receipts", 3): 42}


def test_a_replayed_batch_adds_no_row(store: Store) -> None:
    batch = BatchBuilder()
    batch.add(*receipt("r1", "m1", "2024-05-01T12:00", "10.00", categories=("a", "b")))
    batch.add(*ledger("l1", "m1", "2024-05-01T12:00", "EARN", 10))
    batch.add(*member_event("e1", "m1", "2024-05-01T12:00", "enrolled"))
    tables = batch.tables()
    store.append_batch(tables, {("t", 0): 5})
    store.append_batch(tables, {("t", 0): 5})
    assert [count(store, t) for t in ("receipts", "receipt_lines", "ledger", "member_events")] == [
        1,
        2,
        1,
        1,
    ]


def test_same_receipt_id_again_keeps_the_first_version(store: Store) -> None:
    store.append_records([receipt("r1", "m1", "2024-05-01T12:00", "10.00")])
    store.append_records([receipt("r1", "m1", "2024-05-01T12:00", "99.00")])
    total = store.connection.execute("SELECT total FROM receipts").fetchone()
    assert total is not None and str(total[0]) == "10.00"


def test_member_snapshot_last_write_wins(store: Store) -> None:
    store.append_records(
        [
            snapshot("m1", "2024-01-01T12:00", balance=10),
            snapshot("m1", "2024-01-01T12:00", balance=20),
        ]
    )
    store.append_records([snapshot("m1", "2024-01-01T12:00", balance=30, tier="Silver")])
    row = store.connection.execute("SELECT balance, tier FROM members").fetchone()
    assert row == (30, "Silver")


def test_local_date_is_the_program_timezone_date(store: Store) -> None:
    # 03:30 UTC on March 10 is 22:30 on March 9 in New York.
    store.append_records([receipt("r1", "m1", "2024-03-10T03:30", "10.00")])
    row = store.connection.execute("SELECT CAST(local_date AS VARCHAR) FROM receipts").fetchone()
    assert row == ("2024-03-09",)


def test_a_new_program_timezone_moves_every_local_date(store_path: Path) -> None:
    path = store_path
    with Store(path, TIMEZONE) as first:
        first.append_records([ledger("l1", "m1", "2024-03-10T03:30", "EARN", 1)])
    with Store(path, "Europe/Paris") as moved:
        row = moved.connection.execute("SELECT CAST(local_date AS VARCHAR) FROM ledger").fetchone()
        assert row == ("2024-03-10",)


def _personal_records() -> list[tuple[str, dict[str, object]]]:
    return [
        member_event(
            "e1",
            "m1",
            "2024-05-01T12:00",
            "enrolled",
            name="Ann Example",
            email=EMAIL,
            phone="+15550100",
        ),
        notification("n1", "m1", "2024-05-02T12:00", EMAIL, "Hello Ann Example"),
        snapshot("m1", "2024-05-01T12:00", name="Ann Example", email=EMAIL, phone="+15550100"),
        snapshot("m2", "2024-05-01T12:00", name="Bo Other", email="bo@example.org"),
    ]


def _personal_values(store: Store, member_id: str) -> list[tuple[object, ...]]:
    con = store.connection
    return [
        *con.execute(
            "SELECT name, email, phone FROM members WHERE member_id = ?", [member_id]
        ).fetchall(),
        *con.execute(
            "SELECT name, email, phone FROM member_events WHERE member_id = ?", [member_id]
        ).fetchall(),
        *con.execute(
            "SELECT recipient, subject, body FROM notifications WHERE member_id = ?", [member_id]
        ).fetchall(),
    ]


def _files_holding(store: Store, *values: str) -> list[str]:
    """The store's files in which any of `values` can be read. A DuckLake's Parquet files are
    read whole (every value of every column, compressed or not) and the catalog's bytes
    searched; a single DuckDB file's bytes are searched."""
    wanted = [value.encode() for value in values]
    found = []
    if store.lake:
        for file in sorted(data_path(store.path).rglob("*.parquet")):
            for column in pq.read_table(file).columns:
                for cell in column.to_pylist():
                    data = cell.encode() if isinstance(cell, str) else cell
                    if isinstance(data, bytes) and any(w in data for w in wanted):
                        found.append(file.name)
        catalogs = [store.path, *store.path.parent.glob(f"{store.path.name}-*")]
    else:
        catalogs = [store.path]
    for catalog in catalogs:
        if catalog.is_file() and any(w in catalog.read_bytes() for w in wanted):
            found.append(catalog.name)
    return found


def test_anonymization_erases_personal_data_from_every_table_and_every_file(
    store: Store,
) -> None:
    store.append_records(_personal_records())
    store.checkpoint()
    assert _files_holding(store, EMAIL), "the test needs the value in a file first"

    store.append_records(
        [member_event("e2", "m1", "2024-06-01T12:00", "anonymized", actor="privacy-desk")]
    )
    assert all(value is None for row in _personal_values(store, "m1") for value in row)
    assert _personal_values(store, "m2")[0][1] == "bo@example.org", "others keep theirs"
    status = store.connection.execute("SELECT status FROM members WHERE member_id = 'm1'")
    assert status.fetchone() == ("closed",)
    assert count(store, "member_events") == 2, "the facts stay, keyed by member id"

    store.checkpoint()
    assert _files_holding(store, EMAIL, "Ann Example", "+15550100") == []
    assert _files_holding(store, "bo@example.org"), "others' data stays in the files"
    if store.lake:
        snapshots = store.connection.execute("SELECT count(*) FROM tierflow.snapshots()")
        assert snapshots.fetchone() == (1,), "no older snapshot to travel back to"


def test_a_closed_snapshot_erases_like_the_anonymized_event(store: Store) -> None:
    store.append_records(_personal_records())
    store.append_records([snapshot("m1", "2024-05-01T12:00", status="closed")])
    assert all(value is None for row in _personal_values(store, "m1") for value in row)


def test_rows_of_an_erased_member_arriving_later_arrive_erased(store: Store) -> None:
    store.append_records([member_event("e9", "m1", "2024-06-01T12:00", "anonymized")])
    # A lagging topic still delivers an older notification and profile event.
    store.append_records(_personal_records())
    assert all(value is None for row in _personal_values(store, "m1") for value in row)
    store.checkpoint()
    assert _files_holding(store, EMAIL) == []


def test_erasure_and_the_personal_data_in_one_batch(store: Store) -> None:
    store.append_records(
        [*_personal_records(), member_event("e9", "m1", "2024-06-01T12:00", "anonymized")]
    )
    assert all(value is None for row in _personal_values(store, "m1") for value in row)


_HOLDER = """
import sys
from sink.store import Store
store = Store(sys.argv[1], "UTC")
store.append_records([("LedgerEntry", {
    "entry_id": "l1", "member_id": "m1", "occurred_at": __import__("datetime").datetime(
        2024, 5, 1, tzinfo=__import__("datetime").UTC), "kind": "EARN", "points": 5,
    "qualifying_points": 5, "balance_after": 5, "tier": "Member", "multiplier": 1,
})])
print("ready", flush=True)
sys.stdin.readline()
store.close()
"""


def _holding(path: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert holder.stdout is not None
    line = holder.stdout.readline()
    assert line.strip() == "ready", f"the holder did not start: {line!r}"
    return holder


def test_a_second_writer_is_refused_and_a_lake_is_read_meanwhile(store_path: Path) -> None:
    holder = _holding(store_path)
    try:
        with pytest.raises(StoreError) as refused:
            Store(store_path, "UTC")
        assert refused.value.code == "store_locked"
        assert f"another tierflow sink (pid {holder.pid}) is writing {store_path}" in str(
            refused.value
        )
        if store_path.suffix == ".ducklake":
            con, read = open_for_reading(store_path)
            assert read == store_path
            assert con.execute("SELECT entry_id FROM ledger").fetchall() == [("l1",)]
            con.close()
        else:  # one DuckDB file: one process at a time, and the error says what to do
            with pytest.raises(StoreError) as locked:
                open_for_reading(store_path)
            assert locked.value.code == "store_locked" and ".ducklake" in str(locked.value)
    finally:
        if holder.stdin:
            holder.stdin.close()
        holder.wait(timeout=60)
    assert holder.returncode == 0


_WRITER = """
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from sink.batch import BatchBuilder
from sink.store import Store

store = Store(sys.argv[1], "UTC")
start = datetime(2024, 1, 1, tzinfo=UTC)
for batch in range(int(sys.argv[2])):
    builder = BatchBuilder()
    for i in range(batch * 500, (batch + 1) * 500):
        builder.add("Receipt", {
            "receipt_id": f"r{i}", "member_id": f"m{i % 50}", "store_id": "s1",
            "terminal_id": None, "occurred_at": start + timedelta(minutes=i),
            "currency": "USD", "kind": "SALE", "original_receipt_id": None,
            "total": Decimal("5.00"), "lines": [{"sku": "a", "category": "grocery",
            "quantity": 1, "unit_price": Decimal("5.00"), "amount": Decimal("5.00")}],
        }, ("pos.receipts", 0, i))
    store.append_batch(builder.tables(), {("pos.receipts", 0): (batch + 1) * 500})
    print(batch, flush=True)
    if batch % 10 == 9:
        store.checkpoint()  # upkeep runs beside the readers too
store.close()
"""


def test_a_reader_sees_each_committed_batch_while_the_sink_writes_never_part_of_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "live.ducklake"
    Store(path, "UTC").close()
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    seen: list[tuple[int, int, int]] = []
    try:
        con, _ = open_for_reading(path)
        deadline = time.monotonic() + 240
        while writer.poll() is None and time.monotonic() < deadline:
            # One query: one snapshot of receipts, lines and offsets together.
            row = con.execute(
                "SELECT (SELECT count(*) FROM receipts), (SELECT count(*) FROM receipt_lines), "
                "(SELECT coalesce(sum(next_offset), 0) FROM sink_offsets)"
            ).fetchone()
            assert row is not None
            seen.append(row)
        con.close()
    finally:
        if writer.poll() is None:
            writer.kill()
        _, errors = writer.communicate(timeout=60)
    assert writer.returncode == 0, errors
    partial = [row for row in seen if not row[0] == row[1] == row[2] or row[0] % 500]
    assert not partial, f"a reader saw part of a batch: {partial[:5]}"
    counts = sorted({row[0] for row in seen})
    assert len(counts) >= 5, f"the reader saw too few batches while the sink wrote: {counts}"
    assert counts[-1] < 60 * 500 or len(counts) > 5
    con, _ = open_for_reading(path)
    assert con.execute("SELECT count(*), count(DISTINCT receipt_id) FROM receipts").fetchone() == (
        30_000,
        30_000,
    )
    con.close()


def test_readers_need_an_existing_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as missing:
        open_for_reading(tmp_path / "nope.duckdb")
    assert missing.value.code == "store_missing"


def test_tiers_are_kept_for_the_marts(store: Store) -> None:
    rows = store.connection.execute("SELECT rank, name, threshold FROM program_tiers ORDER BY rank")
    assert rows.fetchall() == [(rank, n, t) for rank, (n, t, _) in enumerate(TIERS)]


def _refused_letter(receipt_id: str, offset: int, code: str) -> tuple[str, dict[str, object]]:
    from sink_records import at, dead_letter

    from agents.rules.events import LineItem, Receipt, ReceiptKind
    from schemas.codec import Codec

    line = LineItem("sku", "grocery", 1, Decimal("5.00"), Decimal("5.00"))
    subject = Receipt(
        receipt_id,
        "m1",
        "s1",
        at("2024-05-01T12:00"),
        "USD",
        ReceiptKind.RETURN,
        (line,),
        Decimal("5.00"),
        original_receipt_id="r-unknown",
    )
    name, letter = dead_letter(
        "pos.receipts", -1, offset, "m1", Codec().encode(subject), "2024-05-08T12:00"
    )
    letter["error_code"] = code
    return name, letter


def test_a_receipt_refused_without_a_position_is_found_by_its_payload(store: Store) -> None:
    # The offline replay's dead letters carry offset -1 and the refused receipt as payload.
    store.append_records(
        [
            receipt(
                "r1",
                "m1",
                "2024-05-01T12:00",
                "5.00",
                kind="RETURN",
                original_receipt_id="r-unknown",
            )
        ]
    )
    store.append_records([_refused_letter("r1", -1, "unmatched_return")])
    # ... in either order.
    store.append_records([_refused_letter("r2", -1, "unmatched_return")])
    store.append_records(
        [
            receipt(
                "r2",
                "m1",
                "2024-05-01T12:00",
                "5.00",
                kind="RETURN",
                original_receipt_id="r-unknown",
            )
        ]
    )
    # A conflicting duplicate shares its id with the receipt that stands: that one stays.
    store.append_records([receipt("r3", "m1", "2024-05-01T12:00", "5.00")])
    store.append_records([_refused_letter("r3", -1, "conflicting_duplicate")])
    accepted = store.connection.execute("SELECT receipt_id FROM stg_receipts").fetchall()
    assert accepted == [("r3",)], "r1 and r2 are refused, r3 stands"


def test_the_erasure_rewrite_keeps_rows_offsets_keys_and_marts(history_store: Store) -> None:
    before = history_store.connection.execute("SELECT * FROM kpi_monthly").fetchall()
    history_store.append_records([member_event("e-x", "B", "2024-03-20T12:00", "anonymized")])
    history_store.checkpoint()  # an erasure is pending: files rewritten (or the file compacted)
    con = history_store.connection
    assert con.execute("SELECT value FROM sink_meta WHERE key = 'erasure_pending'").fetchone() == (
        "false",
    )
    assert con.execute("SELECT * FROM kpi_monthly").fetchall() == before
    assert history_store.stored_offsets() == {("pos.receipts", 0): 10}
    history_store.append_records([receipt("r1", "A", "2024-01-06T15:00", "999.00")])
    assert con.execute("SELECT count(*) FROM receipts").fetchone() == (10,), "keys survive"
