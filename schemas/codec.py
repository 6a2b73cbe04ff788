"""The wire codec: core dataclasses <-> framed Avro bytes, with the contract's checks on input.

Schemas are parsed once. Receipts and member events are decoded on a fast path: fastavro reads
the body without logical types, `schemas.avro_values` converts decimals and times, and it runs
`schemas.checks` (no pydantic on the hot path; see docs/benchmarks.md for why).
Framing: Avro single-object encoding (C3 01 + CRC-64-AVRO fingerprint) by default, the
Confluent framing (0 + 4-byte schema id) with a schema registry; decoding accepts both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from hashlib import blake2b
from io import BytesIO
from pathlib import Path
from typing import Any, Final, Protocol, cast

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

from agents.rules.events import MemberEvent, Receipt, fingerprinted
from schemas.avro_reader import Unreadable, read_receipt
from schemas.avro_values import (
    ENCODERS,
    EPOCH_DATE,
    AvroRecord,
    member_event_from_raw,
    moment,
    receipt_from_raw,
)
from schemas.avro_writer import BODY_WRITERS, receipt_body
from schemas.checks import (
    CheckFailed,
    check_date,
    check_member_event,
    check_receipt,
)
from schemas.errors import CodecError
from schemas.records import DeadLetter, MemberSnapshot, ReviewTickMessage

__all__ = [
    "MAX_MESSAGE_BYTES",
    "RECORD_NAMES",
    "SUBJECT_NAMINGS",
    "Codec",
    "CodecError",
    "DeadLetter",
    "MemberSnapshot",
    "ReviewTickMessage",
    "default_codec",
    "load_schema",
    "subject_name",
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
SUBJECT_NAMINGS: Final = ("topic", "record", "topic_record")
MAX_MESSAGE_BYTES: Final = 1024 * 1024
SINGLE_OBJECT_MAGIC: Final = b"\xc3\x01"
CONFLUENT_MAGIC: Final = 0


def subject_name(naming: str, topic: str, record: str) -> str:
    """The registry subject of a record written to a topic, as Confluent's serializers name
    it: `topic` (TopicNameStrategy, their default) `<topic>-value`; `record`
    (RecordNameStrategy) the record's full name; `topic_record` (TopicRecordNameStrategy)
    `<topic>-<full name>`."""
    full_name = f"{NAMESPACE}.{record}"
    if naming == "topic":
        return f"{topic}-value"
    if naming == "record":
        return full_name
    if naming == "topic_record":
        return f"{topic}-{full_name}"
    raise ValueError(f"subject naming {naming!r} is not one of {', '.join(SUBJECT_NAMINGS)}")


class RegistryClient(Protocol):
    """The two calls of confluent-kafka's `SchemaRegistryClient` the codec uses."""

    def register_schema(self, subject_name: str, schema: Any) -> int: ...

    def get_schema(self, schema_id: int) -> Any: ...


def load_schema(name: str) -> dict[str, Any]:
    """The `.avsc` definition of a record, as JSON (e.g. `load_schema("Receipt")`)."""
    return cast(dict[str, Any], json.loads((SCHEMA_DIR / f"{name}.avsc").read_text("utf-8")))


def without_logical_types(node: Any) -> Any:
    """The same schema with decimals as bytes and times as longs, for the fast path."""
    if isinstance(node, dict):
        return {
            key: without_logical_types(value)
            for key, value in node.items()
            if key not in ("logicalType", "precision", "scale")
        }
    if isinstance(node, list):
        return [without_logical_types(item) for item in node]
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


# ---- the codec --------------------------------------------------------------------------------


class Codec:
    """Encodes core dataclasses to framed Avro and decodes (and checks) what arrives.

    Without `schema_registry_url` (or `registry_client`) messages use Avro single-object
    encoding; with one, the Confluent framing, each schema registered under its subject in
    `subjects` (record name -> subject; `subject_name` makes them; a record not in it, under
    its full name). Decoding accepts both.
    Whether a receipt is in the program's currency is the rules' decision (`wrong_currency`).
    """

    def __init__(
        self,
        schema_registry_url: str | None = None,
        registry_client: RegistryClient | None = None,
        subjects: Mapping[str, str] | None = None,
        history: Path = SCHEMA_DIR / "history",
    ) -> None:
        if registry_client is None and schema_registry_url:
            from confluent_kafka.schema_registry import SchemaRegistryClient

            # new_client gives the in-memory mock for `mock://` URLs (tests, demos).
            registry_client = SchemaRegistryClient.new_client({"url": schema_registry_url})
        self._registry = registry_client
        self._subjects = dict(subjects or {})
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
                raw=_parse(without_logical_types(definition)),
                fingerprint=_fingerprint(definition),
            )
            self._readers[name] = reader
            self._by_fingerprint[reader.fingerprint] = _Writer(
                reader, reader.logical, reader.raw, None, None
            )
        # Earlier (or later) versions of our records, read through schema resolution.
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
            raw = _parse(without_logical_types(definition))
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
        subject = self._subjects.get(reader.name, f"{NAMESPACE}.{reader.name}")
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
        writer, offset = self._frame(data)
        if writer.raw_reader is None and writer.reader.name == "Receipt":
            # Written with our own schema: read by hand, lines checked as they are read
            # (schemas.avro_reader). At any doubt fastavro reads it below, and the full check
            # names what is wrong.
            try:
                receipt = read_receipt(data, offset)
            except Unreadable:
                pass
            else:
                try:
                    check_receipt(receipt, lines_checked=True)
                except CheckFailed as failed:
                    raise CodecError("invalid_receipt", str(failed), failed.field) from None
                # The reader takes only a body in canonical form: its digest is the receipt's.
                return fingerprinted(receipt, receipt_digest(memoryview(data)[offset:]))
        return self._decode_receipt_with_fastavro(data)

    def _decode_receipt_with_fastavro(self, data: bytes) -> Receipt:
        """`decode_receipt` through fastavro: any writer schema, and every error."""
        record = self._framed(data, "Receipt")
        try:
            receipt = receipt_from_raw(record)
            check_receipt(receipt)
        except CheckFailed as failed:
            raise CodecError("invalid_receipt", str(failed), failed.field) from None
        # Another writer schema, or a body not in canonical form: the digest of the canonical
        # body of what was read, so the receipt's fingerprint does not depend on its writer.
        return fingerprinted(receipt, receipt_digest(receipt_body(receipt)))

    def decode_member_event(self, data: bytes) -> MemberEvent:
        """A checked `MemberEvent`, or `CodecError`."""
        record = self._framed(data, "MemberEvent")
        try:
            event = member_event_from_raw(record)
            check_member_event(event)
        except CheckFailed as failed:
            raise CodecError("invalid_member_event", str(failed), failed.field) from None
        return event

    def decode_review_tick(self, data: bytes) -> ReviewTickMessage:
        """A `loyalty.review-ticks` message: `.review_date`, `.partition`, `.published_at`."""
        record = self._framed(data, "ReviewTick")
        try:
            review_date = EPOCH_DATE + timedelta(days=record["review_date"])
            published_at = moment(record["published_at"], "published_at")
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
        writer = BODY_WRITERS.get(type(obj))
        if writer is not None:
            name, body_of = writer
            try:
                body = body_of(obj)
            except Exception:
                pass  # fastavro writes it, or says what is wrong with it
            else:
                data = self._header(name) + body
                if len(data) > MAX_MESSAGE_BYTES:
                    raise CodecError(
                        "message_too_large",
                        f"{name} is {len(data)} bytes; at most {MAX_MESSAGE_BYTES}",
                    )
                return data
        return self._encode_with_fastavro(obj)

    def _encode_with_fastavro(self, obj: object) -> bytes:
        """`encode` through fastavro: every record, and every error of one that cannot be
        written (the hand-written bodies of `schemas.avro_writer` only write)."""
        encoder = ENCODERS.get(type(obj))
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


_BLAKE2B_12: Final = blake2b(digest_size=12)


def receipt_digest(body: bytes | memoryview) -> bytes:
    """A receipt's fingerprint (agents.rules.idempotency): 12 bytes of BLAKE2b of its body in
    `Receipt.avsc` written canonically (as fastavro writes it: shortest varints, a decimal's
    shortest two's complement, the lines in one block). Equal receipts have one canonical body,
    so one digest, whatever bytes or writer schema they arrived with."""
    digest = _BLAKE2B_12.copy()
    digest.update(body)
    return digest.digest()


@cache
def default_codec() -> Codec:
    """One shared codec without a registry (single-object encoding)."""
    return Codec()
