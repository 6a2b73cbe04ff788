"""Fixtures of the sink's tests: a fresh store, and one loaded with the hand-computed history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sink_dataset import TIERS, TIMEZONE, history

from sink.batch import BatchBuilder
from sink.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "tierflow.duckdb", TIMEZONE, tiers=TIERS)
    yield opened
    opened.close()


@pytest.fixture
def history_store(store: Store) -> Store:
    builder = BatchBuilder()
    for name, record, source in history():
        builder.add(name, record, source)
    store.append_batch(builder.tables(), {("pos.receipts", 0): 10})
    return store
