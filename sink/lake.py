"""Where the analytics store lives, and how a connection reaches it.

A path ending in `.ducklake` is a DuckLake: a SQLite catalog at that path and Parquet files in
`<path>.files/`, which readers in other processes query while the sink writes. Any other path
is one DuckDB file, one process at a time (the offline replay's output). Either way the store
is attached as the catalog `tierflow` of an in-memory DuckDB connection.
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

CATALOG = "tierflow"
LAKE_SUFFIX = ".ducklake"
# The DuckLake and SQLite extensions come from PyPI packages built for this DuckDB version:
# nothing is downloaded from DuckDB's extension repository.
EXTENSIONS = ("ducklake", "sqlite_scanner")
FIELD = "TIERFLOW_DUCKDB (--duckdb)"


class StoreError(Exception):
    """A store problem a person can act on; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def is_lake(path: str | Path) -> bool:
    return Path(path).suffix == LAKE_SUFFIX


def data_path(path: str | Path) -> Path:
    """The folder of a DuckLake's Parquet files (DuckLake's own default for its catalog)."""
    path = Path(path)
    return path.with_name(f"{path.name}.files")


def _quoted(path: str | Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def load_extensions(con: duckdb.DuckDBPyConnection) -> None:
    """Install (from the PyPI packages) and load DuckLake and the SQLite catalog reader."""
    try:
        from duckdb_extensions import import_extension
    except ModuleNotFoundError:
        raise StoreError(
            "ducklake_unavailable",
            f"{FIELD} names a DuckLake, and the DuckLake extension is not installed: pip "
            f"install duckdb=={duckdb.__version__} duckdb-extensions duckdb-extension-ducklake "
            "duckdb-extension-sqlite-scanner (same version)",
        ) from None
    for name in EXTENSIONS:
        try:
            import_extension(name, con=con)
        except ModuleNotFoundError:
            raise StoreError(
                "ducklake_unavailable",
                f"{FIELD} names a DuckLake: pip install duckdb-extension-"
                f"{name.replace('_', '-')}=={duckdb.__version__}",
            ) from None
        con.execute(f"LOAD {name}")


def attach(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    read_only: bool,
    name: str = CATALOG,
    default: bool = True,
) -> None:
    """Attach the store at `path` as catalog `name` (`tierflow`) and make it the default."""
    if path.is_dir():
        raise StoreError("store_not_a_file", f"{FIELD}={path} is a folder: name a file")
    try:
        if is_lake(path):
            load_extensions(con)
            if read_only:
                options = "READ_ONLY"
            else:
                folder = data_path(path).resolve()
                options = f"DATA_PATH {_quoted(str(folder) + os.sep)}, DATA_INLINING_ROW_LIMIT 0"
            target = _quoted(f"ducklake:sqlite:{path}")
            con.execute(f"ATTACH {target} AS {name} ({options})")
        else:
            suffix = " (READ_ONLY)" if read_only else ""
            con.execute(f"ATTACH {_quoted(path)} AS {name}{suffix}")
    except duckdb.IOException as error:
        text = str(error)
        if "lock" in text.lower():
            raise StoreError("store_locked", locked_message(path, error)) from None
        if "version number" in text:
            raise StoreError(
                "store_incompatible",
                f"{FIELD}={path} was written by another DuckDB version ({text.splitlines()[0]});"
                f" this tierflow uses DuckDB {duckdb.__version__}: point {FIELD} at a new path, "
                "and the sink rebuilds the store from the topics",
            ) from None
        raise
    except duckdb.Error as error:
        if is_lake(path) and path.exists():
            raise StoreError(
                "store_unreadable", f"{FIELD}={path} is not a DuckLake catalog: {error}"
            ) from None
        raise
    if default:
        con.execute(f"USE {name}")


def locked_message(path: Path, error: Exception | None = None, pid: str | None = None) -> str:
    found = re.search(r"PID (\d+)", str(error)) if error is not None else None
    pid = pid or (found[1] if found else None)
    who = f"pid {pid}" if pid else "another process"
    advice = (
        "analysts can query it meanwhile (tierflow kpis/member/report, or docs/sink.md)"
        if is_lake(path)
        else "a single DuckDB file has one process at a time: wait until it stops, or run the "
        f"sink on a DuckLake ({FIELD} ending in {LAKE_SUFFIX}) to read while it writes"
    )
    return f"another tierflow sink ({who}) is writing {path}; {advice}"


class WriterLock:
    """One writer per DuckLake: DuckLake itself would let two sinks commit side by side, and
    each keeps its own index of stored keys. An advisory lock on `<path>.lock`, released when
    the process ends however it ends."""

    def __init__(self, path: Path) -> None:
        self.path = path.with_name(f"{path.name}.lock")
        self._file: Any = open(self.path, "a+")  # noqa: SIM115 (held until release)
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read().strip() or None
            self._file.close()
            raise StoreError("store_locked", locked_message(path, pid=holder)) from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(str(os.getpid()))
        self._file.flush()

    def release(self) -> None:
        if not self._file.closed:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()


def scrub_catalog(path: Path, columns: Mapping[str, Sequence[str]]) -> None:
    """After an erasure: forget the table-wide min and max of the personal `columns` (table
    -> column names) and rewrite the SQLite catalog without its free pages, where statistics
    of expired files (an e-mail address, say) would linger. Through SQLite itself: DuckLake's
    own connection to its catalog keeps no transaction open between statements."""
    from importlib import resources

    forget = resources.files("sink").joinpath("queries", "forget_column_stats.sql")
    catalog = sqlite3.connect(path, timeout=60)
    try:
        with catalog:
            for table, names in columns.items():
                for name in names:
                    catalog.execute(forget.read_text(encoding="utf-8"), (table, name))
        catalog.execute("VACUUM")
    finally:
        catalog.close()


def open_for_reading(path: str | Path) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """A read-only connection for the CLI and analysts (the store is the default catalog),
    and the path it reads. A DuckLake reads while the sink writes; a single DuckDB file does
    not. Raises StoreError `store_missing` / `store_locked`."""
    path = Path(path)
    if not path.exists():
        raise StoreError(
            "store_missing",
            f"no analytics store at {path}: run `tierflow sink` (or `tierflow replay`) first",
        )
    con = duckdb.connect()
    try:
        attach(con, path, read_only=True)
    except BaseException:
        con.close()
        raise
    return con, path
