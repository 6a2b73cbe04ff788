"""Schema evolution: adding an optional field is compatible both ways (a reader of either
version reads the other's data), and the codec reads messages of the previous and the next
version of a record, by fingerprint (schemas/history/) and by registry id."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import fastavro
import pytest
from confluent_kafka.schema_registry import Schema
from wire_examples import InMemoryRegistry, a_receipt, receipt_v2
from wire_examples import write_body as _write

from schemas.codec import Codec, CodecError, load_schema, subject_name


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


def receipt_previous() -> dict[str, Any]:
    """Receipt as the version before ours would have had it: without one optional field."""
    schema = copy.deepcopy(load_schema("Receipt"))
    schema["fields"] = [f for f in schema["fields"] if f["name"] != "original_receipt_id"]
    return schema


def _previous_record() -> dict[str, Any]:
    record = Codec().decode_record(Codec().encode(a_receipt()))[1]
    del record["original_receipt_id"]
    return record


def test_a_message_of_the_previous_version_in_schemas_history_is_read(tmp_path: Any) -> None:
    """What a release that changes a schema does: the old .avsc goes to schemas/history/, and
    single-object messages still on the topics (or from producers not yet upgraded) read on."""
    previous = receipt_previous()
    (tmp_path / "Receipt.1.avsc").write_text(json.dumps(previous), "utf-8")
    data = b"\xc3\x01" + fingerprint_of(previous) + _write(previous, _previous_record())

    assert Codec(history=tmp_path).decode_receipt(data) == a_receipt()
    with pytest.raises(CodecError) as unknown:  # without its .avsc: named, not guessed
        Codec(history=tmp_path / "none").decode_receipt(data)
    assert unknown.value.code == "unknown_schema"
    assert "schemas/history/" in unknown.value.message


def test_the_previous_and_the_next_version_read_from_the_registry_under_one_subject() -> None:
    """Both versions registered under the topic's subject, as a producer with Confluent's
    serializer registers them: a codec reads each message by its id, the missing field
    taking its default and the added one ignored."""
    registry = InMemoryRegistry()
    subjects = {"Receipt": subject_name("topic", "pos.receipts", "Receipt")}
    ids = {
        version: registry.register_schema("pos.receipts-value", Schema(json.dumps(s), "AVRO"))
        for version, s in (("previous", receipt_previous()), ("next", receipt_v2()))
    }
    older = b"\x00" + ids["previous"].to_bytes(4, "big")
    older += _write(receipt_previous(), _previous_record())
    newer_record = Codec().decode_record(Codec().encode(a_receipt()))[1] | {"channel": "web"}
    newer = b"\x00" + ids["next"].to_bytes(4, "big") + _write(receipt_v2(), newer_record)

    reader = Codec(registry_client=registry, subjects=subjects)
    assert reader.decode_receipt(older) == a_receipt()
    assert reader.decode_receipt(newer) == a_receipt()
    # Our own version registers under the same subject beside them.
    ours = int.from_bytes(reader.encode(a_receipt())[1:5], "big")
    assert registry.subjects["pos.receipts-value"] == ours
    assert ours not in ids.values()


def fingerprint_of(schema: dict[str, Any]) -> bytes:
    from fastavro.schema import fingerprint, to_parsing_canonical_form

    canonical = to_parsing_canonical_form(fastavro.parse_schema(schema))
    return bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))
