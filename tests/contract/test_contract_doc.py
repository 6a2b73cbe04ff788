"""docs/contract.md's fingerprint table is what schemas/*.avsc give, and what the codec writes."""

from __future__ import annotations

from contract_doc import DOC, crc64_avro, doc_table, fingerprint_table, schema_rows
from fastavro.schema import fingerprint

from schemas.codec import Codec, load_schema
from streams.settings import TOPIC_NAMES

REGENERATE = ".venv/bin/python tests/contract/contract_doc.py --write"


def test_the_fingerprint_table_of_docs_contract_md_is_up_to_date() -> None:
    assert doc_table(DOC.read_text("utf-8")) == fingerprint_table(), (
        f"docs/contract.md's fingerprint table differs from schemas/*.avsc: run `{REGENERATE}`"
    )


def test_crc64_avro_agrees_with_avro_and_fastavro() -> None:
    # Avro's own test data (share/test/data/schema-tests.txt) lists these as Java longs.
    assert crc64_avro(b'"null"') == 7195948357588979594
    assert crc64_avro(b'"int"') == 8247732601305521295
    for row in schema_rows():
        expected = fingerprint(row.canonical_form, "CRC-64-AVRO")  # little-endian hex
        assert row.wire_hex == expected, row.full_name


def test_every_schema_is_listed_with_the_header_the_codec_writes_and_a_contract_topic() -> None:
    rows = schema_rows()
    codec = Codec()
    assert len(rows) == len({row.full_name for row in rows}) == 8
    for row in rows:
        short = row.full_name.rpartition(".")[2]
        assert row.full_name == f"io.tierflow.v1.{short}"
        assert load_schema(short)["name"] == short
        # The header of a single-object message: C3 01 then the table's 8 bytes.
        assert codec._header(short) == b"\xc3\x01" + bytes.fromhex(row.wire_hex), short
        assert row.java_long == int.from_bytes(bytes.fromhex(row.wire_hex), "little", signed=True)
        assert row.topic in TOPIC_NAMES.values(), row.topic
    assert len({row.topic for row in rows}) == len(rows)
