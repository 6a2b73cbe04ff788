"""The wire codec: core dataclasses <-> framed Avro bytes, with the contract's checks on input.

Schemas are parsed once. Receipts and member events are decoded on a fast path: fastavro reads
the body without logical types, this module converts decimals and times itself and runs
`schemas.checks` (no pydantic on the hot path; see docs/benchmarks.md for why).
Framing: Avro single-object encoding (C3 01 + CRC-64-AVRO fingerprint) by default, the
Confluent framing (0 + 4-byte schema id) with a schema registry; decoding accepts both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any, Final, Protocol, cast

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

from agents.rules.events import (
    LineItem,
    MemberEvent,
    MemberEventType,
    Receipt,
    ReceiptKind,
    ReviewTick,
)
from agents.rules.outputs import LedgerEntry, Notification, TierChange
from schemas.checks import (
    CheckFailed,
    check_currency,
    check_date,
    check_member_event,
    check_moment,
    check_receipt,
)
from schemas.errors import CodecError
from schemas.records import DeadLetter, MemberSnapshot, ReviewTickMessage

__all__ = [
    "MAX_MESSAGE_BYTES",
    "RECORD_NAMES",
    "Codec",
    "CodecError",
    "DeadLetter",
    "MemberSnapshot",
    "ReviewTickMessage",
    "default_codec",
    "load_schema",
]

SCHEMA_DIR: Final = Path(__file__).parent
NAMESPACE: Final = "io.tierflow.v1"
RECORD_NAMES: Final = (
    "Receipt",
    "MemberEvent",
    "LedgerEntry",
    "TierChange",
    "Notification",
    "DeadLetter",
    "ReviewTick",
    "MemberSnapshot",
)
MAX_MESSAGE_BYTES: Final = 1024 * 1024
SINGLE_OBJECT_MAGIC: Final = b"\xc3\x01"
CONFLUENT_MAGIC: Final = 0
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND: Final = timedelta(milliseconds=1)
_EPOCH_DATE: Final = date(1970, 1, 1)
# A decimal(12, s) needs at most 6 bytes; longer ones are out of range before we build them.
_MAX_DECIMAL_BYTES: Final = 8
_RECEIPT_KINDS: Final = {kind.value: kind for kind in ReceiptKind}
_EVENT_TYPES: Final = {kind.value: kind for kind in MemberEventType}

AvroRecord = dict[str, Any]


class RegistryClient(Protocol):
    """The two calls of confluent-kafka's `SchemaRegistryClient` the codec uses."""

    def register_schema(self, subject_name: str, schema: Any) -> int: ...

    def get_schema(self, schema_id: int) -> Any: ...


def load_schema(name: str) -> dict[str, Any]:
    """The `.avsc` definition of a record, as JSON (e.g. `load_schema("Receipt")`)."""
    return cast(dict[str, Any], json.loads((SCHEMA_DIR / f"{name}.avsc").read_text("utf-8")))


def _without_logical_types(node: Any) -> Any:
    """The same schema with decimals as bytes and times as longs, for the fast path."""
    if isinstance(node, dict):
        return {
            key: _without_logical_types(value)
            for key, value in node.items()
            if key not in ("logicalType", "precision", "scale")
        }
    if isinstance(node, list):
        return [_without_logical_types(item) for item in node]
    return node


def _parse(definition: Mapping[str, Any]) -> dict[str, Any]:
    return cast(dict[str, Any], fastavro.parse_schema(dict(definition), named_schemas={}))


def _fingerprint(definition: Mapping[str, Any]) -> bytes:
    # fastavro gives the CRC-64-AVRO value as little-endian hex: the header's byte order.
    canonical = to_parsing_canonical_form(dict(definition))
    return bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))


@dataclass(frozen=True, slots=True)
class _Reader:
    """One record type as this codec reads and writes it (the current `.avsc`)."""

    name: str
    definition: dict[str, Any]
    logical: dict[str, Any]
    raw: dict[str, Any]
    fingerprint: bytes


@dataclass(frozen=True, slots=True)
class _Writer:
    """A schema some producer wrote with, resolved against our reader of the same name.

    `*_reader` is None when writer and reader are the same schema (no resolution needed).
    """

    reader: _Reader
    logical: dict[str, Any]
    raw: dict[str, Any]
    logical_reader: dict[str, Any] | None
    raw_reader: dict[str, Any] | None


# ---- conversions between core values and raw Avro values ------------------------------------


def _millis(moment: datetime, field: str) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CodecError("unencodable", f"{field} is a naive datetime; give it a timezone", field)
    return (moment - _EPOCH) // _MILLISECOND


def _moment(millis: int, field: str) -> datetime:
    try:
        return _EPOCH + timedelta(milliseconds=millis)
    except OverflowError:
        raise CheckFailed(field, f"{millis} ms is outside 2000-01-01 .. 2100-01-01") from None


def _decimal_bytes(value: Decimal, scale: int, field: str) -> bytes:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise CodecError("unencodable", f"{field} is {value!r}, not a finite Decimal", field)
    unscaled = int(value.scaleb(scale))
    if Decimal(unscaled).scaleb(-scale) != value:
        raise CodecError("unencodable", f"{field} {value} has more than {scale} places", field)
    return unscaled.to_bytes(unscaled.bit_length() // 8 + 1, "big", signed=True)


# Prices and amounts repeat across receipts; Decimals are immutable, so decoded ones are shared.
# Bounded, so a stream of distinct amounts costs at most this many entries.
_CENTS: dict[bytes, Decimal] = {}
_CENT_BYTES: dict[Decimal, bytes] = {}
_CENTS_LIMIT: Final = 65_536


def _money_bytes(value: Decimal, field: str) -> bytes:
    """`_decimal_bytes(value, 2)`, remembered: the same prices are written again and again."""
    raw = _CENT_BYTES.get(value)
    if raw is None:
        raw = _decimal_bytes(value, 2, field)
        if len(_CENT_BYTES) < _CENTS_LIMIT:
            _CENT_BYTES[value] = raw
    return raw


def _decimal(raw: bytes, scale: int, field: str) -> Decimal:
    if len(raw) > _MAX_DECIMAL_BYTES:
        raise CheckFailed(field, f"a {len(raw)}-byte decimal exceeds decimal(12, {scale})")
    return Decimal(int.from_bytes(raw, "big", signed=True)).scaleb(-scale)


def _money(raw: bytes, field: str) -> Decimal:
    value = _CENTS.get(raw)
    if value is None:
        value = _decimal(raw, 2, field)
        if len(_CENTS) < _CENTS_LIMIT:
            _CENTS[raw] = value
    return value


def _receipt_to_raw(receipt: Receipt) -> AvroRecord:
    return {
        "receipt_id": receipt.receipt_id,
        "member_id": receipt.member_id,
        "store_id": receipt.store_id,
        "terminal_id": receipt.terminal_id,
        "occurred_at": _millis(receipt.occurred_at, "occurred_at"),
        "currency": receipt.currency,
        "kind": receipt.kind.value,
        "original_receipt_id": receipt.original_receipt_id,
        "lines": [
            {
                "sku": line.sku,
                "category": line.category,
                "quantity": line.quantity,
                "unit_price": _money_bytes(line.unit_price, "unit_price"),
                "amount": _money_bytes(line.amount, "amount"),
            }
            for line in receipt.lines
        ],
        "total": _money_bytes(receipt.total, "total"),
    }


def _receipt_from_raw(record: AvroRecord) -> Receipt:
    lines = tuple(
        [
            LineItem(
                line["sku"],
                line["category"],
                line["quantity"],
                _money(line["unit_price"], "lines[].unit_price"),
                _money(line["amount"], "lines[].amount"),
            )
            for line in record["lines"]
        ]
    )
    return Receipt(
        record["receipt_id"],
        record["member_id"],
        record["store_id"],
        _moment(record["occurred_at"], "occurred_at"),
        record["currency"],
        _RECEIPT_KINDS[record["kind"]],
        lines,
        _money(record["total"], "total"),
        record["terminal_id"],
        record["original_receipt_id"],
    )


_EVENT_FIELDS: Final = (
    "name",
    "email",
    "phone",
    "consent_email",
    "consent_sms",
    "points",
    "actor",
    "reason",
    "counts_toward_qualifying",
    "reward_id",
)


def _member_event_to_raw(event: MemberEvent) -> AvroRecord:
    record: AvroRecord = {
        "type": event.type.value,
        "event_id": event.event_id,
        "member_id": event.member_id,
        "occurred_at": _millis(event.occurred_at, "occurred_at"),
    }
    for name in _EVENT_FIELDS:
        record[name] = getattr(event, name)
    return record


def _member_event_from_raw(record: AvroRecord) -> MemberEvent:
    return MemberEvent(
        type=_EVENT_TYPES[record["type"]],
        event_id=record["event_id"],
        member_id=record["member_id"],
        occurred_at=_moment(record["occurred_at"], "occurred_at"),
        name=record["name"],
        email=record["email"],
        phone=record["phone"],
        consent_email=record["consent_email"],
        consent_sms=record["consent_sms"],
        points=record["points"],
        actor=record["actor"],
        reason=record["reason"],
        counts_toward_qualifying=record["counts_toward_qualifying"],
        reward_id=record["reward_id"],
    )


def _ledger_entry_to_raw(entry: LedgerEntry) -> AvroRecord:
    return {
        "entry_id": entry.entry_id,
        "member_id": entry.member_id,
        "occurred_at": _millis(entry.occurred_at, "occurred_at"),
        "kind": entry.kind.value,
        "points": entry.points,
        "qualifying_points": entry.qualifying_points,
        "balance_after": entry.balance_after,
        "tier": entry.tier,
        "multiplier": _decimal_bytes(entry.multiplier, 4, "multiplier"),
        "receipt_id": entry.receipt_id,
        "event_id": entry.event_id,
        "campaign_id": entry.campaign_id,
        "description": entry.description,
        "actor": entry.actor,
        "reason": entry.reason,
    }


def _tier_change_to_raw(change: TierChange) -> AvroRecord:
    return {
        "event_id": change.event_id,
        "member_id": change.member_id,
        "from_tier": change.from_tier,
        "to_tier": change.to_tier,
        "direction": change.direction.value,
        "qualifying_points": change.qualifying_points,
        "effective_at": _millis(change.effective_at, "effective_at"),
        "reason": change.reason,
    }


def _notification_to_raw(notification: Notification) -> AvroRecord:
    return {
        "notification_id": notification.notification_id,
        "member_id": notification.member_id,
        "channel": notification.channel.value,
        "template": notification.template,
        "recipient": notification.recipient,
        "subject": notification.subject,
        "body": notification.body,
        "created_at": _millis(notification.created_at, "created_at"),
    }


def _dead_letter_to_raw(letter: DeadLetter) -> AvroRecord:
    return {
        "source_topic": letter.source_topic,
        "partition": letter.partition,
        "offset": letter.offset,
        "key": None if letter.key is None else bytes(letter.key),
        "error_code": letter.error_code,
        "error": letter.error,
        "payload": bytes(letter.payload),
        "failed_at": _millis(letter.failed_at, "failed_at"),
    }


def _review_tick_to_raw(tick: ReviewTickMessage) -> AvroRecord:
    if not isinstance(tick.review_date, date) or isinstance(tick.review_date, datetime):
        raise CodecError("unencodable", "review_date must be a date", "review_date")
    return {
        "review_date": (tick.review_date - _EPOCH_DATE).days,
        "partition": tick.partition,
        "published_at": _millis(tick.published_at, "published_at"),
    }


def _member_snapshot_to_raw(snapshot: MemberSnapshot) -> AvroRecord:
    view = snapshot.view
    return {
        "member_id": view.member_id,
        "status": view.status,
        "tier": view.tier,
        "balance": view.balance,
        "qualifying_points": view.qualifying_points,
        "next_tier": view.next_tier,
        "points_to_next_tier": view.points_to_next_tier,
        "points_at_risk_30d": view.points_at_risk_30d,
        "multiplier": _decimal_bytes(view.multiplier, 4, "multiplier"),
        "enrolled_at": None
        if view.enrolled_at is None
        else _millis(view.enrolled_at, "enrolled_at"),
        "updated_at": _millis(snapshot.updated_at, "updated_at"),
        "name": view.name,
        "email": view.email,
        "phone": view.phone,
    }


def _checked_receipt(receipt: Receipt) -> AvroRecord:
    try:
        check_receipt(receipt)
    except CheckFailed as failed:
        raise CodecError("invalid_receipt", str(failed), failed.field) from None
    return _receipt_to_raw(receipt)


def _checked_member_event(event: MemberEvent) -> AvroRecord:
    try:
        check_member_event(event)
    except CheckFailed as failed:
        raise CodecError("invalid_member_event", str(failed), failed.field) from None
    return _member_event_to_raw(event)


_ENCODERS: Final[dict[type, tuple[str, Callable[[Any], AvroRecord]]]] = {
    Receipt: ("Receipt", _checked_receipt),
    MemberEvent: ("MemberEvent", _checked_member_event),
    LedgerEntry: ("LedgerEntry", _ledger_entry_to_raw),
    TierChange: ("TierChange", _tier_change_to_raw),
    Notification: ("Notification", _notification_to_raw),
    DeadLetter: ("DeadLetter", _dead_letter_to_raw),
    ReviewTickMessage: ("ReviewTick", _review_tick_to_raw),
    MemberSnapshot: ("MemberSnapshot", _member_snapshot_to_raw),
}


# ---- the codec --------------------------------------------------------------------------------


class Codec:
    """Encodes core dataclasses to framed Avro and decodes (and checks) what arrives.

    Without `schema_registry_url` (or `registry_client`) messages use Avro single-object
    encoding; with one, the Confluent framing, schemas registered under their full record
    name (RecordNameStrategy, e.g. `io.tierflow.v1.Receipt`). Decoding accepts both.
    `expected_currency` makes `decode_receipt` refuse other currencies (`wrong_currency`).
    """

    def __init__(
        self,
        schema_registry_url: str | None = None,
        registry_client: RegistryClient | None = None,
        *,
        expected_currency: str | None = None,
    ) -> None:
        if registry_client is None and schema_registry_url:
            from confluent_kafka.schema_registry import SchemaRegistryClient

            # new_client gives the in-memory mock for `mock://` URLs (tests, demos).
            registry_client = SchemaRegistryClient.new_client({"url": schema_registry_url})
        self._registry = registry_client
        self._expected_currency = expected_currency
        self._readers: dict[str, _Reader] = {}
        self._by_fingerprint: dict[bytes, _Writer] = {}
        self._by_schema_id: dict[int, _Writer] = {}
        self._headers: dict[str, bytes] = {}
        for name in RECORD_NAMES:
            definition = load_schema(name)
            reader = _Reader(
                name=name,
                definition=definition,
                logical=_parse(definition),
                raw=_parse(_without_logical_types(definition)),
                fingerprint=_fingerprint(definition),
            )
            self._readers[name] = reader
            self._by_fingerprint[reader.fingerprint] = _Writer(
                reader, reader.logical, reader.raw, None, None
            )
        history = SCHEMA_DIR / "history"
        for path in sorted(history.glob("*.avsc")) if history.is_dir() else []:
            self.add_writer_schema(json.loads(path.read_text("utf-8")))

    # -- schemas --

    def add_writer_schema(self, definition: Mapping[str, Any]) -> bytes:
        """Accept single-object messages written with an older or newer version of a record.

        The definition must share its full name with one of ours; it is read through Avro
        schema resolution. Returns its fingerprint. (`schemas/history/*.avsc` load this way.)
        """
        writer = self._writer_for(definition)
        fp = _fingerprint(definition)
        self._by_fingerprint.setdefault(fp, writer)
        return fp

    def _writer_for(self, definition: Mapping[str, Any]) -> _Writer:
        name = str(definition.get("name", ""))
        full_name = name if "." in name else f"{definition.get('namespace', '')}.{name}"
        namespace, _, short = full_name.rpartition(".")
        reader = self._readers.get(short)
        if reader is None or namespace != NAMESPACE:
            raise CodecError("unknown_schema", f"no tierflow record is named {full_name}")
        if _fingerprint(definition) == reader.fingerprint:
            return _Writer(reader, reader.logical, reader.raw, None, None)
        try:
            logical = _parse(definition)
            raw = _parse(_without_logical_types(definition))
        except Exception as exc:
            raise CodecError("unknown_schema", f"writer schema does not parse: {exc}") from exc
        return _Writer(reader, logical, raw, reader.logical, reader.raw)

    def schema(self, name: str) -> dict[str, Any]:
        """The `.avsc` definition this codec reads and writes for a record name."""
        return self._readers[name].definition

    # -- framing --

    def _header(self, name: str) -> bytes:
        header = self._headers.get(name)
        if header is None:
            reader = self._readers[name]
            if self._registry is None:
                header = SINGLE_OBJECT_MAGIC + reader.fingerprint
            else:
                header = bytes([CONFLUENT_MAGIC]) + self._register(reader).to_bytes(4, "big")
            self._headers[name] = header
        return header

    def _register(self, reader: _Reader) -> int:
        from confluent_kafka.schema_registry import Schema

        assert self._registry is not None
        subject = f"{NAMESPACE}.{reader.name}"
        try:
            schema_id = int(
                self._registry.register_schema(
                    subject, Schema(json.dumps(reader.definition), "AVRO")
                )
            )
        except Exception as exc:
            raise CodecError(
                "registry_unavailable", f"could not register {subject}: {exc}"
            ) from exc
        self._by_schema_id[schema_id] = self._by_fingerprint[reader.fingerprint]
        return schema_id

    def _frame(self, data: bytes) -> tuple[_Writer, int]:
        """The writer schema named by the header, and where the Avro body starts."""
        size = len(data)
        if size > MAX_MESSAGE_BYTES:
            raise CodecError("message_too_large", f"{size} bytes; the limit is {MAX_MESSAGE_BYTES}")
        if size >= 10 and data[0] == 0xC3 and data[1] == 0x01:
            fp = bytes(data[2:10])
            writer = self._by_fingerprint.get(fp)
            if writer is None:
                raise CodecError(
                    "unknown_schema",
                    f"fingerprint {fp.hex()} names no schema this tierflow knows; was it "
                    "written by a newer version? add its .avsc to schemas/history/",
                )
            return writer, 10
        if size >= 5 and data[0] == CONFLUENT_MAGIC:
            return self._writer_by_id(int.from_bytes(data[1:5], "big")), 5
        if size == 0:
            raise CodecError("bad_framing", "empty message")
        raise CodecError(
            "bad_framing",
            f"starts with {bytes(data[:2]).hex()} ({size} bytes): neither single-object "
            "encoding (c301 + 8-byte fingerprint) nor Confluent framing (00 + 4-byte id)",
        )

    def _writer_by_id(self, schema_id: int) -> _Writer:
        writer = self._by_schema_id.get(schema_id)
        if writer is not None:
            return writer
        if self._registry is None:
            raise CodecError(
                "unknown_schema",
                f"Confluent-framed message (schema id {schema_id}) but no schema registry "
                "is configured; set TIERFLOW_SCHEMA_REGISTRY_URL",
            )
        try:
            registered = self._registry.get_schema(schema_id)
        except Exception as exc:
            if getattr(exc, "http_status_code", None) == 404:
                raise CodecError(
                    "unknown_schema", f"schema id {schema_id} is not in the registry"
                ) from exc
            raise CodecError(
                "registry_unavailable", f"could not fetch schema id {schema_id}: {exc}"
            ) from exc
        try:
            definition = json.loads(registered.schema_str)
        except (AttributeError, TypeError, ValueError) as exc:
            raise CodecError(
                "unknown_schema", f"schema id {schema_id} is not an Avro record"
            ) from exc
        if not isinstance(definition, dict):
            raise CodecError("unknown_schema", f"schema id {schema_id} is not an Avro record")
        writer = self._writer_for(definition)
        self._by_schema_id[schema_id] = writer
        return writer

    @staticmethod
    def _read(data: bytes, offset: int, schema: dict[str, Any], reader: Any) -> AvroRecord:
        body = BytesIO(data)
        body.seek(offset)
        try:
            record = fastavro.schemaless_reader(body, schema, reader)
        except Exception as exc:
            raise CodecError(
                "bad_avro", f"Avro body does not decode: {type(exc).__name__}: {exc}"
            ) from None
        if body.tell() != len(data):
            raise CodecError("bad_avro", f"{len(data) - body.tell()} trailing bytes after body")
        return cast(AvroRecord, record)

    def _framed(self, data: bytes, expected: str) -> AvroRecord:
        writer, offset = self._frame(data)
        if writer.reader.name != expected:
            raise CodecError(
                "wrong_record_type", f"expected a {expected}, got a {writer.reader.name}"
            )
        return self._read(data, offset, writer.raw, writer.raw_reader)

    # -- the API --

    def decode_receipt(self, data: bytes) -> Receipt:
        """A checked `Receipt`, or `CodecError` (see docs/contract.md for the codes)."""
        record = self._framed(data, "Receipt")
        try:
            receipt = _receipt_from_raw(record)
            check_receipt(receipt)
        except CheckFailed as failed:
            raise CodecError("invalid_receipt", str(failed), failed.field) from None
        if self._expected_currency is not None:
            try:
                check_currency(receipt.currency, expected=self._expected_currency)
            except CheckFailed as failed:
                raise CodecError("wrong_currency", str(failed), failed.field) from None
        return receipt

    def decode_member_event(self, data: bytes) -> MemberEvent:
        """A checked `MemberEvent`, or `CodecError`."""
        record = self._framed(data, "MemberEvent")
        try:
            event = _member_event_from_raw(record)
            check_member_event(event)
        except CheckFailed as failed:
            raise CodecError("invalid_member_event", str(failed), failed.field) from None
        return event

    def decode_review_tick(self, data: bytes) -> ReviewTickMessage:
        """A `loyalty.review-ticks` message: `.review_date`, `.partition`, `.published_at`."""
        record = self._framed(data, "ReviewTick")
        try:
            review_date = _EPOCH_DATE + timedelta(days=record["review_date"])
            published_at = _moment(record["published_at"], "published_at")
            check_date(review_date, "review_date")
        except OverflowError:
            raise CodecError(
                "invalid_review_tick", "review_date is out of range", "review_date"
            ) from None
        except CheckFailed as failed:
            raise CodecError("invalid_review_tick", str(failed), failed.field) from None
        partition = int(record["partition"])
        if partition < 0:
            raise CodecError("invalid_review_tick", "partition is negative", "partition")
        return ReviewTickMessage(review_date, partition, published_at)

    def decode_record(self, data: bytes) -> tuple[str, dict[str, Any]]:
        """Any tierflow message as (short record name, fastavro dict with Decimal/datetime).

        For the sink: framing and Avro are checked, the contract's semantic checks are not
        (outputs were checked when written; inputs are stored as they came).
        """
        writer, offset = self._frame(data)
        return writer.reader.name, self._read(data, offset, writer.logical, writer.logical_reader)

    def encode(self, obj: object) -> bytes:
        """Framed Avro for a core input/output, a `DeadLetter` or a `ReviewTickMessage`.

        Receipts and member events are checked first (`invalid_receipt`,
        `invalid_member_event`); anything else that cannot be written is `unencodable`.
        """
        encoder = _ENCODERS.get(type(obj))
        if encoder is None:
            raise CodecError("unencodable", f"no tierflow message is a {type(obj).__name__}")
        name, to_raw = encoder
        try:
            record = to_raw(obj)
        except CodecError:
            raise
        except Exception as exc:
            raise CodecError("unencodable", f"{name}: {type(exc).__name__}: {exc}") from None
        header = self._header(name)
        body = BytesIO()
        body.write(header)
        try:
            fastavro.schemaless_writer(body, self._readers[name].raw, record)
        except Exception as exc:
            raise CodecError("unencodable", f"{name}: {type(exc).__name__}: {exc}") from None
        if body.tell() > MAX_MESSAGE_BYTES:
            raise CodecError(
                "message_too_large", f"{name} is {body.tell()} bytes; at most {MAX_MESSAGE_BYTES}"
            )
        return body.getvalue()

    def encode_review_tick(
        self, review_date: date, partition: int, published_at: datetime
    ) -> bytes:
        """Shorthand for `encode(ReviewTickMessage(review_date, partition, published_at))`."""
        return self.encode(ReviewTickMessage(review_date, partition, published_at))

    def encode_core_tick(self, tick: ReviewTick, partition: int, published_at: datetime) -> bytes:
        """A core `ReviewTick` addressed to a partition."""
        return self.encode_review_tick(tick.review_date, partition, published_at)


@cache
def default_codec() -> Codec:
    """One shared codec without a registry (single-object encoding)."""
    return Codec()


def moment_in_bounds(moment: datetime) -> bool:
    """Whether an event time passes the codec's time check (for producers deciding early)."""
    try:
        check_moment(moment, "occurred_at")
    except CheckFailed:
        return False
    return True
