"""Fixtures of the sink's tests: a fresh store in each format (a DuckLake, one DuckDB file),
and one loaded with the hand-computed history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sink_dataset import TIERS, TIMEZONE, history

from sink.batch import BatchBuilder
from sink.store import Store

FORMATS = ("ducklake", "duckdb")


@pytest.fixture(params=FORMATS)
def store_path(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    return tmp_path / f"tierflow.{request.param}"


@pytest.fixture
def store(store_path: Path) -> Iterator[Store]:
    opened = Store(store_path, TIMEZONE, tiers=TIERS)
    yield opened
    opened.close()


@pytest.fixture
def history_store(store: Store) -> Store:
    builder = BatchBuilder()
    for name, record, source in history():
        builder.add(name, record, source)
    store.append_batch(builder.tables(), {("pos.receipts", 0): 10})
    return store
