"""Adding an optional field is compatible both ways: v2 readers read v1 data and v1 readers v2."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import fastavro
from confluent_kafka.schema_registry import Schema
from wire_examples import InMemoryRegistry, a_receipt

from schemas.codec import Codec, load_schema


def receipt_v2() -> dict[str, Any]:
    """Receipt with one more optional field, as the next schema version would add it."""
    schema = copy.deepcopy(load_schema("Receipt"))
    schema["fields"].append(
        {
            "name": "channel",
            "type": ["null", "string"],
            "default": None,
            "doc": "Where the sale happened (store, web, app).",
        }
    )
    return schema


def _write(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(schema), record)
    return body.getvalue()


def _read(data: bytes, writer: dict[str, Any], reader: dict[str, Any]) -> Any:
    return fastavro.schemaless_reader(
        io.BytesIO(data), fastavro.parse_schema(writer), fastavro.parse_schema(reader)
    )


def test_a_v2_reader_reads_v1_data_with_the_default() -> None:
    v1 = load_schema("Receipt")
    record = Codec().decode_record(Codec().encode(a_receipt()))[1]
    decoded = _read(_write(v1, record), v1, receipt_v2())
    assert decoded["channel"] is None
    assert decoded["total"] == record["total"]


def test_a_v1_reader_reads_v2_data_ignoring_the_new_field() -> None:
    v1 = load_schema("Receipt")
    record = Codec().decode_record(Codec().encode(a_receipt()))[1] | {"channel": "web"}
    decoded = _read(_write(receipt_v2(), record), receipt_v2(), v1)
    assert "channel" not in decoded
    assert decoded["receipt_id"] == record["receipt_id"]


def test_the_codec_decodes_single_object_messages_of_a_newer_version_it_was_told_about() -> None:
    newer = receipt_v2()
    record = Codec().decode_record(Codec().encode(a_receipt()))[1] | {"channel": "web"}
    codec = Codec()
    fingerprint = codec.add_writer_schema(newer)
    data = b"\xc3\x01" + fingerprint + _write(newer, record)
    assert codec.decode_receipt(data) == a_receipt()


def test_the_codec_reads_a_newer_version_from_the_registry_by_id() -> None:
    registry = InMemoryRegistry()
    schema_id = registry.register_schema(
        "io.tierflow.v1.Receipt", Schema(json.dumps(receipt_v2()), "AVRO")
    )
    record = Codec().decode_record(Codec().encode(a_receipt()))[1] | {"channel": "app"}
    data = b"\x00" + schema_id.to_bytes(4, "big") + _write(receipt_v2(), record)
    assert Codec(registry_client=registry).decode_receipt(data) == a_receipt()
