"""Every message survives model -> bytes -> model in both framings, edges included."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from wire_examples import (
    InMemoryRegistry,
    a_receipt,
    a_return,
    an_enrollment,
    every_message,
    one_line_receipt,
)

from agents.rules.events import MemberEvent, Receipt
from schemas.codec import Codec, CodecError, default_codec
from schemas.models import MODELS
from schemas.records import ReviewTickMessage


def _decode(codec: Codec, message: object, data: bytes) -> object:
    if isinstance(message, Receipt):
        return codec.decode_receipt(data)
    if isinstance(message, MemberEvent):
        return codec.decode_member_event(data)
    if isinstance(message, ReviewTickMessage):
        return codec.decode_review_tick(data)
    name, record = codec.decode_record(data)
    assert name == type(message).__name__.removesuffix("Message")
    return MODELS[name].model_validate(record).to_core()  # type: ignore[attr-defined]


FRAMINGS = {
    "single-object": lambda: Codec(),
    "confluent-fake-registry": lambda: Codec(registry_client=InMemoryRegistry()),
    "confluent-mock-url": lambda: Codec(schema_registry_url="mock://tierflow-tests"),
}


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("message", every_message(), ids=lambda m: type(m).__name__)
def test_every_message_round_trips_in_both_framings(framing: str, message: object) -> None:
    codec = FRAMINGS[framing]()
    data = codec.encode(message)
    expected_magic = b"\xc3\x01" if framing == "single-object" else b"\x00"
    assert data.startswith(expected_magic)
    assert _decode(codec, message, data) == message


def test_single_object_header_is_magic_and_little_endian_crc64_fingerprint() -> None:
    from fastavro.schema import fingerprint, to_parsing_canonical_form

    codec = Codec()
    canonical = to_parsing_canonical_form(codec.schema("Receipt"))
    data = codec.encode(a_receipt())
    assert data[:2] == b"\xc3\x01"
    assert data[2:10].hex() == fingerprint(canonical, "CRC-64-AVRO")


def test_confluent_header_is_zero_and_big_endian_registry_id() -> None:
    registry = InMemoryRegistry()
    data = Codec(registry_client=registry).encode(a_receipt())
    assert data[0] == 0
    assert int.from_bytes(data[1:5], "big") == registry.subjects["io.tierflow.v1.Receipt"]


def test_a_reader_accepts_both_framings() -> None:
    registry = InMemoryRegistry()
    framed = Codec(registry_client=registry).encode(a_receipt())
    single = Codec().encode(a_receipt())
    # A fresh codec on the same registry learns the id from the registry on first sight.
    reader = Codec(registry_client=registry)
    assert reader.decode_receipt(framed) == reader.decode_receipt(single) == a_receipt()


def test_confluent_framing_without_a_registry_is_unknown_schema() -> None:
    framed = Codec(registry_client=InMemoryRegistry()).encode(a_receipt())
    with pytest.raises(CodecError) as raised:
        Codec().decode_receipt(framed)
    assert raised.value.code == "unknown_schema"
    assert "TIERFLOW_SCHEMA_REGISTRY_URL" in raised.value.message


def test_a_registry_that_is_down_is_retriable_not_a_bad_message() -> None:
    class DownRegistry(InMemoryRegistry):
        def get_schema(self, schema_id: int) -> Any:
            raise ConnectionError("connection refused")

    framed = Codec(registry_client=InMemoryRegistry()).encode(a_receipt())
    with pytest.raises(CodecError) as raised:
        Codec(registry_client=DownRegistry()).decode_receipt(framed)
    assert raised.value.code == "registry_unavailable"
    assert raised.value.retriable


@pytest.mark.parametrize(
    "amount", ["0.00", "0.01", "0.10", "1", "12.5", "9999999999.99", "1234567.89", "127", "128"]
)
def test_money_keeps_its_value_at_the_edges(amount: str) -> None:
    receipt = one_line_receipt(Decimal(amount))
    decoded = default_codec().decode_receipt(default_codec().encode(receipt))
    assert decoded.total == Decimal(amount)
    assert decoded.total.as_tuple().exponent == -2  # always read at the schema's scale
    assert decoded.lines[0].amount == Decimal(amount)


def test_non_ascii_ids_and_names_round_trip() -> None:
    receipt = a_receipt(receipt_id="収据-Zoë-🧾-001", member_id="Ångström-ß", store_id="Škoda")
    event = an_enrollment(member_id="Ångström-ß", name="Zoë 李 🙂")
    codec = default_codec()
    assert codec.decode_receipt(codec.encode(receipt)) == receipt
    assert codec.decode_member_event(codec.encode(event)) == event


def test_a_return_round_trips_with_its_original() -> None:
    decoded = default_codec().decode_receipt(default_codec().encode(a_return()))
    assert decoded.original_receipt_id == "R-2025-000123"


def test_times_keep_milliseconds_and_come_back_in_utc() -> None:
    from datetime import timedelta, timezone

    paris = timezone(timedelta(hours=1))
    receipt = a_receipt(occurred_at=a_receipt().occurred_at.astimezone(paris))
    decoded = default_codec().decode_receipt(default_codec().encode(receipt))
    assert decoded.occurred_at == receipt.occurred_at
    assert decoded.occurred_at.utcoffset() == timedelta(0)


def test_decode_record_names_the_record_and_gives_typed_values() -> None:
    name, record = default_codec().decode_record(default_codec().encode(a_receipt()))
    assert name == "Receipt"
    assert record["total"] == Decimal("32.50")
    assert record["lines"][0]["sku"] == "SKU-0000"


def test_encoding_refuses_an_invalid_receipt_instead_of_writing_it() -> None:
    with pytest.raises(CodecError) as raised:
        default_codec().encode(replace(a_receipt(), total=Decimal("1.00")))
    assert (raised.value.code, raised.value.field) == ("invalid_receipt", "total")


def test_encoding_refuses_naive_times_and_foreign_objects() -> None:
    from datetime import datetime

    from wire_examples import every_message

    ledger_entry = every_message()[7]
    with pytest.raises(CodecError) as naive:
        default_codec().encode(replace(ledger_entry, occurred_at=datetime(2025, 1, 1)))  # type: ignore[type-var]
    assert naive.value.code == "unencodable"
    with pytest.raises(CodecError) as foreign:
        default_codec().encode({"receipt_id": "R-1"})
    assert foreign.value.code == "unencodable"


def test_an_id_the_registry_does_not_know_is_unknown_schema() -> None:
    body = Codec().encode(a_receipt())[10:]
    with pytest.raises(CodecError) as raised:
        Codec(schema_registry_url="mock://empty-registry").decode_receipt(
            b"\x00" + (4242).to_bytes(4, "big") + body
        )
    assert raised.value.code == "unknown_schema"


def test_the_codec_leaves_the_program_currency_to_the_rules() -> None:
    # Any ISO 4217 code decodes; agents.rules refuses one that is not the program's.
    codec = default_codec()
    assert codec.decode_receipt(codec.encode(a_receipt(currency="EUR"))).currency == "EUR"
