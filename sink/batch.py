"""Decoded records -> Arrow tables, one per store table: the one shape every writer hands the store.

The live sink feeds it the codec's dicts (`Codec.decode_record`), the offline replay the same
dicts built from the core's dataclasses. Rows are gathered as tuples and turned into Arrow
columns once per batch: building columns directly is several times faster than a list of dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import itemgetter
from typing import Any

import pyarrow as pa

_TIME = pa.timestamp("us", tz="UTC")
_MONEY = pa.decimal128(12, 2)
_RATE = pa.decimal128(12, 4)
_SOURCE = [
    ("source_topic", pa.string()),
    ("source_partition", pa.int32()),
    ("source_offset", pa.int64()),
]

# The columns each batch table carries, in order. `local_date` (and the dead letters' id) are
# computed by the store's INSERT, from the program timezone.
BATCH_SCHEMAS: dict[str, pa.Schema] = {
    "receipts": pa.schema(
        [
            ("receipt_id", pa.string()),
            ("member_id", pa.string()),
            ("store_id", pa.string()),
            ("terminal_id", pa.string()),
            ("occurred_at", _TIME),
            ("currency", pa.string()),
            ("kind", pa.string()),
            ("original_receipt_id", pa.string()),
            ("total", _MONEY),
            ("line_count", pa.int32()),
            *_SOURCE,
        ]
    ),
    "receipt_lines": pa.schema(
        [
            ("receipt_id", pa.string()),
            ("line_no", pa.int32()),
            ("sku", pa.string()),
            ("category", pa.string()),
            ("quantity", pa.int32()),
            ("unit_price", _MONEY),
            ("amount", _MONEY),
        ]
    ),
    "member_events": pa.schema(
        [
            ("event_id", pa.string()),
            ("member_id", pa.string()),
            ("type", pa.string()),
            ("occurred_at", _TIME),
            ("name", pa.string()),
            ("email", pa.string()),
            ("phone", pa.string()),
            ("consent_email", pa.bool_()),
            ("consent_sms", pa.bool_()),
            ("points", pa.int64()),
            ("actor", pa.string()),
            ("reason", pa.string()),
            ("counts_toward_qualifying", pa.bool_()),
            ("reward_id", pa.string()),
            *_SOURCE,
        ]
    ),
    "ledger": pa.schema(
        [
            ("entry_id", pa.string()),
            ("member_id", pa.string()),
            ("occurred_at", _TIME),
            ("kind", pa.string()),
            ("points", pa.int64()),
            ("qualifying_points", pa.int64()),
            ("balance_after", pa.int64()),
            ("tier", pa.string()),
            ("multiplier", _RATE),
            ("receipt_id", pa.string()),
            ("event_id", pa.string()),
            ("campaign_id", pa.string()),
            ("description", pa.string()),
            ("actor", pa.string()),
            ("reason", pa.string()),
        ]
    ),
    "tier_changes": pa.schema(
        [
            ("event_id", pa.string()),
            ("member_id", pa.string()),
            ("from_tier", pa.string()),
            ("to_tier", pa.string()),
            ("direction", pa.string()),
            ("qualifying_points", pa.int64()),
            ("effective_at", _TIME),
            ("reason", pa.string()),
        ]
    ),
    "notifications": pa.schema(
        [
            ("notification_id", pa.string()),
            ("member_id", pa.string()),
            ("channel", pa.string()),
            ("template", pa.string()),
            ("recipient", pa.string()),
            ("subject", pa.string()),
            ("body", pa.string()),
            ("created_at", _TIME),
        ]
    ),
    "dead_letters": pa.schema(
        [
            ("source_topic", pa.string()),
            ("partition", pa.int32()),
            ("offset", pa.int64()),
            ("key", pa.string()),
            ("error_code", pa.string()),
            ("error", pa.string()),
            ("payload", pa.binary()),
            ("failed_at", _TIME),
            ("receipt_id", pa.string()),  # the refused receipt, for letters without offset
        ]
    ),
    "members": pa.schema(
        [
            ("member_id", pa.string()),
            ("status", pa.string()),
            ("tier", pa.string()),
            ("balance", pa.int64()),
            ("qualifying_points", pa.int64()),
            ("next_tier", pa.string()),
            ("points_to_next_tier", pa.int64()),
            ("points_at_risk_30d", pa.int64()),
            ("multiplier", _RATE),
            ("enrolled_at", _TIME),
            ("updated_at", _TIME),
            ("name", pa.string()),
            ("email", pa.string()),
            ("phone", pa.string()),
            ("batch_seq", pa.int64()),  # arrival order in the batch: the last snapshot wins
        ]
    ),
}

# The message fields each record contributes, in batch-column order (before the extra columns).
_RECEIPT_FIELDS = (
    "receipt_id",
    "member_id",
    "store_id",
    "terminal_id",
    "occurred_at",
    "currency",
    "kind",
    "original_receipt_id",
    "total",
)
_LINE_FIELDS = ("sku", "category", "quantity", "unit_price", "amount")
_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    # record name -> (table, message fields)
    "MemberEvent": ("member_events", tuple(BATCH_SCHEMAS["member_events"].names[:14])),
    "LedgerEntry": ("ledger", tuple(BATCH_SCHEMAS["ledger"].names)),
    "TierChange": ("tier_changes", tuple(BATCH_SCHEMAS["tier_changes"].names)),
    "Notification": ("notifications", tuple(BATCH_SCHEMAS["notifications"].names)),
    "DeadLetter": ("dead_letters", tuple(BATCH_SCHEMAS["dead_letters"].names[:-1])),
    "MemberSnapshot": ("members", tuple(BATCH_SCHEMAS["members"].names[:-1])),
}
_DEFAULTS: dict[str, Any] = {"counts_toward_qualifying": False, "description": ""}

RECORD_NAMES = frozenset({"Receipt", *_FIELDS})

Source = tuple[str | None, int | None, int | None]
_NO_SOURCE: Source = (None, None, None)


class UnknownRecord(ValueError):
    """A record name the store has no table for."""

    code = "unknown_record"


def _getter(fields: tuple[str, ...]) -> Any:
    pick = itemgetter(*fields)

    def values(record: Mapping[str, Any]) -> tuple[Any, ...]:
        try:
            return pick(record)  # type: ignore[no-any-return]
        except KeyError:  # a hand-made dict may leave optional fields out
            return tuple(record.get(name, _DEFAULTS.get(name)) for name in fields)

    return values


class BatchBuilder:
    """Gathers decoded records for one store transaction; `tables()` gives the Arrow tables."""

    def __init__(self) -> None:
        self._rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in BATCH_SCHEMAS}
        self._receipt = _getter(_RECEIPT_FIELDS)
        self._line = _getter(_LINE_FIELDS)
        self._getters = {
            name: (table, _getter(fields)) for name, (table, fields) in _FIELDS.items()
        }
        self.records = 0

    def __len__(self) -> int:
        return self.records

    def add(self, record_name: str, record: Mapping[str, Any], source: Source = _NO_SOURCE) -> None:
        """Add one decoded record; `source` is (topic, partition, offset) where it was read."""
        short = record_name.rsplit(".", 1)[-1]
        self.records += 1
        if short == "Receipt":
            self._add_receipt(record, source)
            return
        try:
            table, values = self._getters[short]
        except KeyError:
            raise UnknownRecord(f"no store table for record {record_name!r}") from None
        row = values(record)
        if table == "member_events":
            row = (*row, *source)
        elif table == "members":
            row = (*row, len(self._rows["members"]))
        elif table == "dead_letters":
            row = _dead_letter_row(row)
        self._rows[table].append(row)

    def _add_receipt(self, record: Mapping[str, Any], source: Source) -> None:
        lines = record["lines"]
        receipt_id = record["receipt_id"]
        self._rows["receipts"].append((*self._receipt(record), len(lines), *source))
        line_rows = self._rows["receipt_lines"]
        for line_no, line in enumerate(lines, start=1):
            line_rows.append((receipt_id, line_no, *self._line(line)))

    def tables(self) -> dict[str, pa.Table]:
        """The gathered rows as Arrow tables (only the tables that got rows)."""
        tables = {}
        for name, rows in self._rows.items():
            if rows:
                schema = BATCH_SCHEMAS[name]
                columns = list(zip(*rows, strict=True))
                arrays = [
                    pa.array(column, type=field.type)
                    for column, field in zip(columns, schema, strict=True)
                ]
                tables[name] = pa.Table.from_arrays(arrays, schema=schema)
        return tables

    def clear(self) -> None:
        for rows in self._rows.values():
            rows.clear()
        self.records = 0


def _dead_letter_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # The key travels as bytes (the member id in UTF-8); the store keeps it readable.
    key = row[3]
    if isinstance(key, bytes | bytearray | memoryview):
        key = bytes(key).decode("utf-8", errors="replace")
    offset, error_code, payload = row[2], row[4], row[6]
    receipt_id = None
    # Without a position, only the payload says which receipt was refused. A conflicting
    # duplicate shares its id with the receipt that stands, so it names none.
    if offset is not None and offset < 0 and error_code != "conflicting_duplicate" and payload:
        receipt_id = _refused_receipt_id(bytes(payload))
    return (*row[:3], key, *row[4:], receipt_id)


_codec: Any = None


def _refused_receipt_id(payload: bytes) -> str | None:
    global _codec
    if _codec is None:
        from schemas.codec import Codec

        _codec = Codec()
    try:
        name, record = _codec.decode_record(payload)
    except Exception:  # an undecodable payload names no receipt
        return None
    return str(record["receipt_id"]) if name == "Receipt" else None


def rows_to_table(table: str, rows: list[Mapping[str, Any]]) -> pa.Table:
    """Arrow table for a list of row dicts in a batch table's columns (missing columns: null)."""
    schema = BATCH_SCHEMAS[table]
    return pa.Table.from_pylist([dict(row) for row in rows], schema=schema)
