"""The analytics store: one DuckDB file, its migrations, marts, and the one way rows get in.

`Store.append_batch` writes a batch of rows and the Kafka offsets it covers in ONE
transaction, so a crash never loses or duplicates a row. The live sink and the offline replay
both write through it. One writer per file; readers use `open_for_reading` (read-only, or the
snapshot the sink refreshes while it holds the file).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from sink.batch import BATCH_SCHEMAS, BatchBuilder, rows_to_table

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

Offsets = Mapping[tuple[str, int], int]


class StoreError(Exception):
    """A store problem a person can act on; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


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


def _locked_message(path: Path, error: Exception) -> str:
    pid = re.search(r"PID (\d+)", str(error))
    who = f"pid {pid[1]}" if pid else "another process"
    return (
        f"another tierflow sink ({who}) is writing {path}; analysts: open it read-only with "
        f"duckdb.connect(path, read_only=True) once it stops, or query the snapshot "
        f"{snapshot_path(path)} (tierflow kpis/member/report use it automatically)"
    )


def snapshot_path(path: Path) -> Path:
    """Where the sink publishes a consistent read-only copy while it holds the file."""
    return path.with_name(f"{path.stem}.snapshot{path.suffix or '.duckdb'}")


class Store:
    """The writer's handle on the DuckDB file (migrations applied, marts created)."""

    def __init__(
        self,
        path: str | Path,
        timezone: str,
        *,
        tiers: Sequence[tuple[str, int, Any]] = (),
    ) -> None:
        """Open (or create) the store at `path` for writing; `timezone` is the program's.

        `tiers` are the program's (name, threshold, multiplier) in order, for the marts that
        need thresholds; given, they replace the stored ones.
        """
        self.path = Path(path)
        self.timezone = timezone
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._closed = False
        self._con = self._connect()
        self._con.execute("SET TimeZone = 'UTC'")
        self.apply_migrations()
        self._set_timezone(timezone)
        if tiers:
            self.set_tiers(tiers)
        self.create_marts()
        if self._meta("erasure_pending") == "true":
            # A crash came between an erasure and its compaction: finish the job now.
            self.compact()

    @classmethod
    def from_program(cls, path: str | Path, program: Any) -> Store:
        """A store for a `agents.rules.program.Program` (timezone and first version's tiers)."""
        tiers = [(t.name, t.threshold, t.multiplier) for t in program.versions[-1].tiers]
        return cls(path, program.timezone, tiers=tiers)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(self.path))
        except duckdb.IOException as error:
            if "lock" in str(error).lower():
                raise StoreError("store_locked", _locked_message(self.path, error)) from None
            raise

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        return self._con

    # -- schema ---------------------------------------------------------------------------

    def apply_migrations(self) -> list[int]:
        """Apply the migrations not applied yet, each in its own transaction; returns them."""
        con = self._con
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
        )
        done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
        applied = []
        for version, name, sql in migrations():
            if version in done:
                continue
            con.execute("BEGIN")
            try:
                con.execute(sql)
                con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            applied.append(version)
            log.info("event=migration_applied version=%03d name=%s", version, name)
        return applied

    def create_marts(self) -> None:
        """(Re)create the mart views and macros from sink/marts/*.sql."""
        for name in MARTS:
            self._con.execute(_sql("marts", name))

    def _meta(self, key: str) -> str | None:
        row = self._con.execute("SELECT value FROM sink_meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def _set_timezone(self, timezone: str) -> None:
        stored = self._meta("timezone")
        if stored == timezone:
            return
        con = self._con
        con.execute("BEGIN")
        try:
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
            con.execute("INSERT OR REPLACE INTO sink_meta VALUES ('timezone', ?)", [timezone])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise

    def set_tiers(self, tiers: Sequence[tuple[str, int, Any]]) -> None:
        """Replace the stored program tiers with (name, threshold, multiplier), in order."""
        con = self._con
        con.execute("BEGIN")
        try:
            con.execute("DELETE FROM program_tiers")
            con.executemany(
                "INSERT INTO program_tiers VALUES (?, ?, ?, ?)",
                [
                    (rank, name, int(threshold), mult)
                    for rank, (name, threshold, mult) in enumerate(tiers)
                ],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise

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
    ) -> None:
        """Insert a batch and upsert the offsets it covers, in ONE transaction.

        `rows_by_table` maps a table name to an Arrow table in `BATCH_SCHEMAS[name]` (see
        `BatchBuilder`) or to row dicts. Rows whose key is already stored are ignored, so a
        replayed batch changes nothing; member snapshots replace the stored row. Anonymized
        members (a `members` row with status closed, or a member event `anonymized`) have
        their personal data erased from every table in the same transaction.
        """
        tables = {
            name: rows if isinstance(rows, pa.Table) else rows_to_table(name, list(rows))
            for name, rows in rows_by_table.items()
        }
        unknown = set(tables) - set(BATCH_SCHEMAS)
        if unknown:
            raise StoreError("unknown_table", f"no store table named {sorted(unknown)}")
        con = self._con
        registered = []
        con.execute("BEGIN")
        try:
            for name, table in tables.items():
                if table.num_rows:
                    con.register(f"batch_{name}", table)
                    registered.append(f"batch_{name}")
            erased = _erased_in(tables)
            if erased.num_rows:
                con.register("batch_erased", erased)
                registered.append("batch_erased")
                con.execute(_sql("queries", "erase_members"))
            for name in _APPEND_ORDER:
                table = tables.get(name)
                if table is not None and table.num_rows:
                    self._append(name)
            if "dead_letters" in tables and tables["dead_letters"].num_rows:
                con.execute(_sql("queries", "refuse_receipts"))
            if offsets:
                con.register("batch_offsets", _offsets_table(offsets))
                registered.append("batch_offsets")
                con.execute(_sql("queries", "upsert_offsets"))
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        finally:
            for view in registered:
                con.unregister(view)

    def _append(self, name: str) -> None:
        custom = _CUSTOM_APPEND.get(name)
        if custom is not None:
            sql = _sql("queries", custom)
        elif name in LOCAL_DATE_OF:
            time_column = LOCAL_DATE_OF[name]
            sql = (
                f"INSERT OR IGNORE INTO {name} BY NAME SELECT *, "
                f"CAST(timezone($tz, {time_column}) AS DATE) AS local_date FROM batch_{name}"
            )
        else:
            sql = f"INSERT OR IGNORE INTO {name} BY NAME SELECT * FROM batch_{name}"
        if "$tz" in sql:
            self._con.execute(sql, {"tz": self.timezone})
        else:
            self._con.execute(sql)

    def stored_offsets(self) -> dict[tuple[str, int], int]:
        """The next offset to read per (topic, partition), as last committed."""
        rows = self._con.execute('SELECT topic, "partition", next_offset FROM sink_offsets')
        return {(topic, partition): offset for topic, partition, offset in rows.fetchall()}

    # -- keeping the file -----------------------------------------------------------------

    def checkpoint(self) -> None:
        """Write everything into the file; if personal data was erased, compact the file too,
        so the erased values are gone from its bytes (a plain CHECKPOINT leaves freed blocks
        holding old values)."""
        if self._meta("erasure_pending") == "true":
            self.compact()
        else:
            self._con.execute("CHECKPOINT")

    def compact(self) -> None:
        """Rewrite the file from its live rows (a fresh file: no freed block survives)."""
        started = time.perf_counter()
        con = self._con
        con.execute("INSERT OR REPLACE INTO sink_meta VALUES ('erasure_pending', 'false')")
        con.execute("CHECKPOINT")
        fresh = self.path.with_name(f"{self.path.name}.compact")
        for leftover in (fresh, Path(f"{fresh}.wal")):
            leftover.unlink(missing_ok=True)
        current = con.execute("SELECT current_database()").fetchone()
        assert current is not None
        con.execute(f"ATTACH '{fresh}' AS tierflow_compact")
        con.execute(f'COPY FROM DATABASE "{current[0]}" TO tierflow_compact')
        con.execute("DETACH tierflow_compact")
        con.close()
        os.replace(fresh, self.path)
        Path(f"{self.path}.wal").unlink(missing_ok=True)
        self._con = self._connect()
        self._con.execute("SET TimeZone = 'UTC'")
        log.info("event=store_compacted seconds=%.3f", time.perf_counter() - started)

    def publish_snapshot(self) -> Path:
        """Copy a consistent state of the file to `snapshot_path` for readers (atomic rename)."""
        self.checkpoint()
        target = snapshot_path(self.path)
        partial = target.with_name(f"{target.name}.partial")
        # Copied by another process: DuckDB's lock is a POSIX record lock, which this process
        # would lose the moment it closed any descriptor of the file (as shutil.copyfile does).
        subprocess.run(["cp", str(self.path), str(partial)], check=True, timeout=600)
        os.replace(partial, target)
        return target

    def close(self) -> None:
        """Checkpoint (compacting if personal data was erased) and release the file; twice is
        harmless."""
        if self._closed:
            return
        try:
            self.checkpoint()
        finally:
            self._con.close()
            self._closed = True

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _erased_in(tables: Mapping[str, pa.Table]) -> pa.Table:
    """(member_id, erased_at) of the members this batch anonymizes."""
    import pyarrow.compute as pc

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


def open_for_reading(path: str | Path) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """A read-only connection for the CLI and analysts, and the file it reads.

    While a sink holds the file, DuckDB refuses any other connection; then this reads the
    snapshot the sink publishes. Raises StoreError `store_missing` / `store_locked`.
    """
    path = Path(path)
    if not path.exists():
        raise StoreError(
            "store_missing",
            f"no analytics store at {path}: run `tierflow sink` (or `tierflow replay`) first",
        )
    try:
        return duckdb.connect(str(path), read_only=True), path
    except duckdb.IOException as error:
        if "lock" not in str(error).lower():
            raise
        snapshot = snapshot_path(path)
        if snapshot.exists():
            return duckdb.connect(str(snapshot), read_only=True), snapshot
        raise StoreError("store_locked", _locked_message(path, error)) from None
