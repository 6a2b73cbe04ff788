"""JSON Lines files: same fields as Avro, a receipt typed in a mixed file, bad lines reported."""

from __future__ import annotations

import json
from pathlib import Path

from wire_examples import a_receipt, a_return, an_adjustment, an_enrollment, every_message

from agents.rules.events import MemberEvent, Receipt
from schemas.codec import default_codec
from schemas.errors import CodecError
from schemas.jsonl import read_jsonl, to_json_dict, to_json_line, write_jsonl


def test_a_mixed_file_reads_back_what_was_written_in_order(tmp_path: Path) -> None:
    messages = [an_enrollment(), a_receipt(), a_return(), an_adjustment()]
    path = tmp_path / "mixed.jsonl"
    assert write_jsonl(path, messages) == 4
    assert [message for _, message in read_jsonl(path)] == messages


def test_a_receipt_carries_type_receipt_and_money_as_strings() -> None:
    record = json.loads(to_json_line(a_receipt()))
    assert record["type"] == "receipt"
    assert record["total"] == "32.50"
    assert record["lines"][0]["unit_price"] == "3.25"
    assert record["occurred_at"] == "2025-03-14T15:09:26.535000+00:00"


def test_a_member_event_carries_its_own_type_and_omits_empty_fields() -> None:
    record = json.loads(to_json_line(an_enrollment()))
    assert record["type"] == "enrolled"
    assert "points" not in record


def test_json_and_avro_use_the_same_field_names() -> None:
    for message in (a_receipt(), an_adjustment()):
        _, avro = default_codec().decode_record(default_codec().encode(message))
        json_fields = set(to_json_dict(message)) - {"type"} | (
            {"type"} if isinstance(message, MemberEvent) else set()
        )
        assert json_fields <= set(avro)


def test_a_receipt_without_type_in_a_receipts_only_file_is_a_receipt(tmp_path: Path) -> None:
    record = json.loads(to_json_line(a_receipt()))
    del record["type"]
    path = tmp_path / "receipts.jsonl"
    path.write_text(json.dumps(record) + "\n")
    assert [message for _, message in read_jsonl(path)] == [a_receipt()]


def test_bad_lines_become_codec_errors_with_their_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    lines = [
        to_json_line(a_receipt()),
        "",
        "{not json",
        to_json_line(a_receipt()).replace('"quantity":2', '"quantity":-2', 1),
        '{"type": "refund", "receipt_id": "R-9"}',
        to_json_line(an_enrollment()),
    ]
    path.write_text("\n".join(lines) + "\n")
    results = list(read_jsonl(path))
    assert [number for number, _ in results] == [1, 3, 4, 5, 6]
    outcomes = [
        item.code if isinstance(item, CodecError) else type(item).__name__ for _, item in results
    ]
    assert outcomes == ["Receipt", "bad_json", "invalid_receipt", "unknown_type", "MemberEvent"]


def test_outputs_have_a_json_form_too() -> None:
    for message in every_message():
        record = json.loads(to_json_line(message))
        assert record, message
        if isinstance(message, Receipt):
            assert record["type"] == "receipt"
