"""The analytics store: a DuckLake (or one DuckDB file), its migrations, marts, and the one way
rows get in.

`Store.append_batch` writes a batch of rows and the Kafka offsets it covers in ONE
transaction, so a crash never loses or duplicates a row. The live sink and the offline replay
both write through it. One writer per store; readers use `open_for_reading` (sink/lake.py).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from sink.batch import BATCH_SCHEMAS, BatchBuilder, rows_to_table
from sink.lake import (
    CATALOG,
    StoreError,
    WriterLock,
    attach,
    is_lake,
    open_for_reading,
    scrub_catalog,
)

__all__ = ["MARTS", "Store", "StoreError", "migrations", "open_for_reading"]

log = logging.getLogger("tierflow.sink.store")

# Mart objects (staging views, the KPI macro, the marts), created in this order.
MARTS = (
    "stg_receipts",
    "stg_member_lifecycle",
    "kpis_by_period",
    "kpi_daily",
    "kpi_monthly",
    "tier_distribution_daily",
    "tier_migrations_monthly",
    "sales_by_store",
    "campaign_performance",
    "member_activity",
    "tier_at_risk",
)
# Tables whose rows carry a program-timezone `local_date`, and the time it comes from.
LOCAL_DATE_OF = {
    "receipts": "occurred_at",
    "member_events": "occurred_at",
    "ledger": "occurred_at",
    "tier_changes": "effective_at",
    "notifications": "created_at",
    "dead_letters": "failed_at",
}
# Each table's key: a row whose key is stored already is left out (the first version stands).
# DuckLake has no constraints, so the writer keeps 64-bit hashes of the stored keys in memory.
KEYS = {
    "receipts": "receipt_id",
    "member_events": "event_id",
    "ledger": "entry_id",
    "tier_changes": "event_id",
    "notifications": "notification_id",
    "dead_letters": "dead_letter_id",
}
# Tables with their own append statement (erasure-aware or upserts).
_CUSTOM_APPEND = {
    "receipts": "append_receipts",
    "member_events": "append_member_events",
    "notifications": "append_notifications",
    "dead_letters": "append_dead_letters",
    "members": "upsert_members",
}
# Append order: erasure first (so this batch's rows of erased members arrive erased), members last.
_APPEND_ORDER = (
    "receipts",
    "receipt_lines",
    "member_events",
    "ledger",
    "tier_changes",
    "notifications",
    "dead_letters",
    "members",
)
# The columns holding personal data (erase_members.sql nulls them): after an erasure the files
# of these tables are rewritten and the columns' catalog statistics forgotten.
PERSONAL_COLUMNS = {
    "members": ("name", "email", "phone"),
    "member_events": ("name", "email", "phone"),
    "notifications": ("recipient", "subject", "body"),
    "dead_letters": ("error", "payload"),
}
# DuckLake upkeep: files under MERGE_BELOW bytes (each batch writes small ones) are merged;
# snapshots older than KEEP (time travel) expire; files no snapshot needs any more are deleted
# KEEP after that, so a reader's query shorter than KEEP never misses a file.
MERGE_BELOW = 16 * 2**20
KEEP = "10 minutes"

Offsets = Mapping[tuple[str, int], int]


def _sql(folder: str, name: str) -> str:
    return resources.files("sink").joinpath(folder, f"{name}.sql").read_text(encoding="utf-8")


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration under sink/migrations, in version order."""
    found = []
    for entry in resources.files("sink").joinpath("migrations").iterdir():
        match = re.fullmatch(r"(\d{3})_(\w+)\.sql", entry.name)
        if match:
            found.append((int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found)


class Store:
    """The writer's handle on the store (migrations applied, marts created, keys indexed)."""

    def __init__(
        self,
        path: str | Path,
        timezone: str,
        *,
        tiers: Sequence[tuple[str, int, Any]] = (),
        keep: str = KEEP,
    ) -> None:
        """Open (or create) the store at `path` for writing; `timezone` is the program's.

        `path` ending in `.ducklake` is a DuckLake (readers query it while the sink writes),
        any other a single DuckDB file. `tiers` are the program's (name, threshold,
        multiplier) in order, for the marts that need thresholds; given, they replace the
        stored ones. `keep`: how long a DuckLake keeps old snapshots and unused files.
        """
        self.path = Path(path)
        self.timezone = timezone
        self.lake = is_lake(self.path)
        self.keep = keep
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._closed = False
        self._lock = WriterLock(self.path) if self.lake else None
        try:
            new = not self.path.exists()
            self._con = self._connect()
            if self.lake and new:
                # Every row in a Parquet file, none in the catalog: what erasure rewrites.
                self._con.execute(f"CALL {CATALOG}.set_option('data_inlining_row_limit', 0)")
            self.apply_migrations()
            self._set_timezone(timezone)
            if tiers:
                self.set_tiers(tiers)
            self.create_marts()
            self._index_keys()
            if self._meta("erasure_pending") == "true":
                # A crash came between an erasure and the rewrite of its files: finish it now.
                self.checkpoint()
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise

    @classmethod
    def from_program(cls, path: str | Path, program: Any) -> Store:
        """A store for a `agents.rules.program.Program` (timezone and first version's tiers)."""
        tiers = [(t.name, t.threshold, t.multiplier) for t in program.versions[-1].tiers]
        return cls(path, program.timezone, tiers=tiers)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()  # in memory: the key index; the store is attached to it
        try:
            attach(con, self.path, read_only=False)
        except BaseException:
            con.close()
            raise
        con.execute("SET TimeZone = 'UTC'")
        return con

    @property
    def closed(self) -> bool:
        """Whether `close` has released the store (for the sink's /readyz)."""
        return self._closed

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The writer's connection; the store is its default catalog (`tierflow`)."""
        return self._con

    # -- schema ---------------------------------------------------------------------------

    def apply_migrations(self) -> list[int]:
        """Apply the migrations not applied yet, each in its own transaction; returns them."""
        con = self._con
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER NOT NULL, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
        )
        done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
        applied = []
        for version, name, sql in migrations():
            if version in done:
                continue
            with self._transaction():
                con.execute(sql)
                con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
            applied.append(version)
            log.info("event=migration_applied version=%03d name=%s", version, name)
        return applied

    def create_marts(self) -> None:
        """(Re)create the mart views and macros from sink/marts/*.sql (one transaction)."""
        with self._transaction():
            for name in MARTS:
                self._con.execute(_sql("marts", name))

    def _meta(self, key: str) -> str | None:
        row = self._con.execute("SELECT value FROM sink_meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._con.execute("DELETE FROM sink_meta WHERE key = ?", [key])
        self._con.execute("INSERT INTO sink_meta VALUES (?, ?)", [key, value])

    def _transaction(self) -> Any:
        return _Transaction(self._con)

    def _set_timezone(self, timezone: str) -> None:
        stored = self._meta("timezone")
        if stored == timezone:
            return
        con = self._con
        with self._transaction():
            if stored is not None:
                # The program moved zone: every local date moves with it.
                for table, column in LOCAL_DATE_OF.items():
                    con.execute(
                        f"UPDATE {table} SET local_date = CAST(timezone($tz, {column}) AS DATE)",
                        {"tz": timezone},
                    )
                con.execute(
                    "UPDATE members SET enrolled_on = CAST(timezone($tz, enrolled_at) AS DATE), "
                    "updated_on = CAST(timezone($tz, updated_at) AS DATE)",
                    {"tz": timezone},
                )
                log.info("event=timezone_changed old=%s new=%s", stored, timezone)
            self._set_meta("timezone", timezone)

    def set_tiers(self, tiers: Sequence[tuple[str, int, Any]]) -> None:
        """Replace the stored program tiers with (name, threshold, multiplier), in order."""
        con = self._con
        with self._transaction():
            con.execute("DELETE FROM program_tiers")
            con.executemany(
                "INSERT INTO program_tiers VALUES (?, ?, ?, ?)",
                [
                    (rank, name, int(threshold), mult)
                    for rank, (name, threshold, mult) in enumerate(tiers)
                ],
            )

    def _index_keys(self) -> None:
        """Hash every stored key into the in-memory index (once per open)."""
        started = time.perf_counter()
        for table, key in KEYS.items():
            self._con.execute(
                f"CREATE OR REPLACE TABLE memory.main.seen_{table} AS "
                f"SELECT hash({key}) AS h FROM {CATALOG}.main.{table}"
            )
        log.info("event=keys_indexed seconds=%.3f", time.perf_counter() - started)

    # -- writing --------------------------------------------------------------------------

    def append_records(
        self,
        records: Iterable[tuple[str, Mapping[str, Any]]],
        offsets: Offsets | None = None,
    ) -> None:
        """Convenience: append (record name, decoded dict) pairs as one batch."""
        builder = BatchBuilder()
        for name, record in records:
            builder.add(name, record)
        self.append_batch(builder.tables(), offsets or {})

    def append_batch(
        self,
        rows_by_table: Mapping[str, pa.Table | Sequence[Mapping[str, Any]]],
        offsets: Offsets | None = None,
    ) -> dict[str, int]:
        """Insert a batch and upsert the offsets it covers, in ONE transaction; the rows
        written per table (for the sink's metrics).

        `rows_by_table` maps a table name to an Arrow table in `BATCH_SCHEMAS[name]` (see
        `BatchBuilder`) or to row dicts. Rows whose key is already stored (or came earlier in
        the batch) are left out, so a replayed batch changes nothing; member snapshots replace
        the stored row. Anonymized members (a `members` row with status closed, or a member
        event `anonymized`) have their personal data erased from every table in the same
        transaction.
        """
        tables = {
            name: rows if isinstance(rows, pa.Table) else rows_to_table(name, list(rows))
            for name, rows in rows_by_table.items()
        }
        unknown = set(tables) - set(BATCH_SCHEMAS)
        if unknown:
            raise StoreError("unknown_table", f"no store table named {sorted(unknown)}")
        tables = {name: table for name, table in tables.items() if table.num_rows}
        con = self._con
        batch = _Registered(con)
        try:
            with self._transaction():
                erased = _erased_in(tables)
                fresh = self._fresh_rows(tables, batch)
                if erased.num_rows:
                    batch.register("batch_erased", erased)
                    con.execute(_sql("queries", "erase_members"))
                for name in _APPEND_ORDER:
                    if fresh.get(name) is not None and fresh[name].num_rows:
                        self._append(name)
                if offsets:
                    batch.register("batch_offsets", _offsets_table(offsets))
                    con.execute(_sql("queries", "upsert_offsets"))
            with self._transaction():  # the index follows what was committed
                for table, key in KEYS.items():
                    if fresh.get(table) is not None and fresh[table].num_rows:
                        con.execute(
                            f"INSERT INTO memory.main.seen_{table} "
                            f"SELECT hash({key}) FROM batch_{table}"
                        )
        finally:
            batch.unregister_all()
        return {name: table.num_rows for name, table in fresh.items() if table is not None}

    def _fresh_rows(self, tables: Mapping[str, pa.Table], batch: _Registered) -> dict[str, Any]:
        """Register each batch table as `batch_<name>` without the rows already stored; the
        tables as registered. A key whose hash is not in the index is new; one whose hash is
        (a repeat, or a rare collision) is looked up in the table itself."""
        con = self._con
        fresh: dict[str, Any] = {}
        for name, table in tables.items():
            ordered = table.append_column("batch_row", pa.array(range(table.num_rows), pa.int64()))
            key = KEYS.get(name)
            if name == "dead_letters":
                batch.register("batch_dead_letters", ordered)
                ordered = con.execute(_sql("queries", "dead_letter_ids")).to_arrow_table()
            if key is None:
                fresh[name] = ordered
                batch.register(f"batch_{name}", ordered.drop_columns(["batch_row"]))
                continue
            batch.register("batch_firsts", ordered)
            firsts = con.execute(_sql("queries", "first_arrivals").format(table=name, key=key))
            marked = firsts.to_arrow_table()
            hashed = marked["hashed_before"]
            unseen = marked.filter(pc.invert(hashed)).drop_columns(["hashed_before"])
            if pc.any(hashed).as_py():  # a repeat, or a rare hash collision: ask the table
                batch.register("batch_firsts", marked.filter(hashed))
                again = con.execute(
                    f"SELECT f.* EXCLUDE (hashed_before) FROM batch_firsts AS f "
                    f"ANTI JOIN {CATALOG}.main.{name} AS t ON t.{key} = f.{key}"
                ).to_arrow_table()
                unseen = pa.concat_tables([unseen, again])
            fresh[name] = unseen
            batch.register(f"batch_{name}", unseen.drop_columns(["batch_row"]))
        lines = fresh.pop("receipt_lines", None)
        if lines is not None and "receipts" in fresh:
            # A receipt's lines go in with the receipt: none for a receipt stored before.
            batch.register("batch_lines", lines)
            kept = con.execute(_sql("queries", "new_receipt_lines")).to_arrow_table()
            fresh["receipt_lines"] = kept
            batch.register("batch_receipt_lines", kept)
        return fresh

    def _append(self, name: str) -> None:
        custom = _CUSTOM_APPEND.get(name)
        if name == "members":
            self._con.execute(
                "DELETE FROM members WHERE member_id IN (SELECT member_id FROM batch_members)"
            )
        if custom is not None:
            sql = _sql("queries", custom)
        elif name in LOCAL_DATE_OF:
            time_column = LOCAL_DATE_OF[name]
            sql = (
                f"INSERT INTO {name} BY NAME SELECT *, "
                f"CAST(timezone($tz, {time_column}) AS DATE) AS local_date FROM batch_{name}"
            )
        else:
            sql = f"INSERT INTO {name} BY NAME SELECT * FROM batch_{name}"
        if "$tz" in sql:
            self._con.execute(sql, {"tz": self.timezone})
        else:
            self._con.execute(sql)

    def stored_offsets(self) -> dict[tuple[str, int], int]:
        """The next offset to read per (topic, partition), as last committed."""
        rows = self._con.execute('SELECT topic, "partition", next_offset FROM sink_offsets')
        return {(topic, partition): offset for topic, partition, offset in rows.fetchall()}

    # -- keeping the store ----------------------------------------------------------------

    def checkpoint(self) -> None:
        """Keep the store tidy; after an erasure, make the erased values leave every file.

        A DuckLake merges the small files batches write, rewrites files most of whose rows
        were replaced, expires snapshots older than `keep` and deletes the files no snapshot
        needs since `keep`. After an erasure it also rewrites every file of the tables with
        personal data that has a deleted row, expires every older snapshot, deletes the
        unused files at once and vacuums the catalog. A single DuckDB file is checkpointed, or
        after an erasure compacted (copied into a fresh file: freed blocks keep old bytes).
        """
        if not self.lake:
            if self._meta("erasure_pending") == "true":
                self.compact()
            else:
                self._con.execute("CHECKPOINT")
            return
        started = time.perf_counter()
        con = self._con
        con.execute(
            f"CALL ducklake_merge_adjacent_files('{CATALOG}', max_file_size => {MERGE_BELOW})"
        )
        con.execute(f"CALL ducklake_rewrite_data_files('{CATALOG}', delete_threshold => 0.5)")
        erasure = self._meta("erasure_pending") == "true"
        if erasure:
            for table in PERSONAL_COLUMNS:
                con.execute(
                    f"CALL ducklake_rewrite_data_files('{CATALOG}', '{table}', "
                    "delete_threshold => 0)"
                )
            with self._transaction():
                self._set_meta("erasure_pending", "false")
            con.execute(f"CALL ducklake_expire_snapshots('{CATALOG}', older_than => now())")
            con.execute(f"CALL ducklake_cleanup_old_files('{CATALOG}', cleanup_all => true)")
            scrub_catalog(self.path, PERSONAL_COLUMNS)
        else:
            older = f"now() - INTERVAL '{self.keep}'"
            con.execute(f"CALL ducklake_expire_snapshots('{CATALOG}', older_than => {older})")
            con.execute(f"CALL ducklake_cleanup_old_files('{CATALOG}', older_than => {older})")
        log.info(
            "event=store_maintained erasure=%s seconds=%.3f",
            str(erasure).lower(),
            time.perf_counter() - started,
        )

    def compact(self) -> None:
        """Rewrite a single DuckDB file from its live rows (a fresh file: no freed block)."""
        started = time.perf_counter()
        con = self._con
        with self._transaction():
            self._set_meta("erasure_pending", "false")
        fresh = self.path.with_name(f"{self.path.name}.compact")
        for leftover in (fresh, Path(f"{fresh}.wal")):
            leftover.unlink(missing_ok=True)
        con.execute(f"ATTACH '{fresh}' AS tierflow_compact")
        con.execute(f"COPY FROM DATABASE {CATALOG} TO tierflow_compact")
        con.execute("USE memory")
        con.execute("DETACH tierflow_compact")
        con.execute(f"DETACH {CATALOG}")
        os.replace(fresh, self.path)
        Path(f"{self.path}.wal").unlink(missing_ok=True)
        attach(con, self.path, read_only=False)
        log.info("event=store_compacted seconds=%.3f", time.perf_counter() - started)

    def close(self) -> None:
        """Checkpoint (rewriting what an erasure left) and release the store; twice is
        harmless."""
        if self._closed:
            return
        try:
            self.checkpoint()
        finally:
            self._con.close()
            if self._lock is not None:
                self._lock.release()
            self._closed = True

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Transaction:
    """BEGIN ... COMMIT, or ROLLBACK on an error."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def __enter__(self) -> None:
        self._con.execute("BEGIN")

    def __exit__(self, kind: object, *_: object) -> None:
        self._con.execute("COMMIT" if kind is None else "ROLLBACK")


class _Registered:
    """The Arrow tables registered as views for one batch, unregistered together."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._names: set[str] = set()

    def register(self, name: str, table: pa.Table) -> None:
        self._con.register(name, table)
        self._names.add(name)

    def unregister_all(self) -> None:
        for name in self._names:
            self._con.unregister(name)


def _erased_in(tables: Mapping[str, pa.Table]) -> pa.Table:
    """(member_id, erased_at) of the members this batch anonymizes."""
    parts = []
    events = tables.get("member_events")
    if events is not None and events.num_rows:
        hit = events.filter(pc.equal(events["type"], "anonymized"))
        parts.append(
            hit.select(["member_id", "occurred_at"]).rename_columns(["member_id", "erased_at"])
        )
    members = tables.get("members")
    if members is not None and members.num_rows:
        hit = members.filter(pc.equal(members["status"], "closed"))
        parts.append(
            hit.select(["member_id", "updated_at"]).rename_columns(["member_id", "erased_at"])
        )
    schema = pa.schema([("member_id", pa.string()), ("erased_at", pa.timestamp("us", tz="UTC"))])
    if not parts:
        return schema.empty_table()
    return pa.concat_tables([part.cast(schema) for part in parts])


def _offsets_table(offsets: Offsets) -> pa.Table:
    topics, partitions, next_offsets = [], [], []
    for (topic, partition), next_offset in offsets.items():
        topics.append(topic)
        partitions.append(partition)
        next_offsets.append(next_offset)
    return pa.table(
        {
            "topic": pa.array(topics, pa.string()),
            "partition": pa.array(partitions, pa.int32()),
            "next_offset": pa.array(next_offsets, pa.int64()),
        }
    )
