"""A receipt's fingerprint (the duplicate check's "same content") is the digest of its
canonical body, whichever way the codec read it: by hand from a canonical body, or with
fastavro from another writer schema or a longer encoding of the same values."""

from __future__ import annotations

from io import BytesIO

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from test_codec_malformed import raw_receipt
from test_codec_properties import receipts

from agents.rules.events import Receipt
from agents.rules.idempotency import TEXT_FINGERPRINT_SIZE
from agents.rules.state import MemberState
from schemas.avro_reader import Unreadable, read_receipt
from schemas.avro_writer import receipt_body
from schemas.codec import Codec, load_schema, receipt_digest
from tests.agents.rules.builders import Run, program, return_of, sale

CODEC = Codec()
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEADER_SIZE = 10  # C3 01 and the schema's 8-byte fingerprint
_LINE = {"sku": "A", "category": "home", "quantity": 2, "unit_price": b"\x01", "amount": b"\x02"}
TWO_LINES = raw_receipt(lines=[_LINE, _LINE], total=b"\x04")  # canonical: 0.04 in one byte


def _fastavro_body(receipt: Receipt) -> bytes:
    return CODEC.encode(receipt)[HEADER_SIZE:]  # receipts are written by fastavro, checked


@SETTINGS
@given(receipts())
def test_the_canonical_body_is_what_fastavro_writes(receipt: Receipt) -> None:
    assert receipt_body(receipt) == _fastavro_body(receipt)


@SETTINGS
@given(receipts())
def test_both_ways_of_reading_give_the_digest_of_the_canonical_body(receipt: Receipt) -> None:
    data = CODEC.encode(receipt)
    expected = receipt_digest(_fastavro_body(receipt))
    assert CODEC.decode_receipt(data).fingerprint == expected
    assert CODEC._decode_receipt_with_fastavro(data).fingerprint == expected
    assert len(expected) == 12


def _longer_encodings() -> dict[str, bytes]:
    """The same receipt as `TWO_LINES`, written with more bytes than needed (all valid Avro
    that fastavro reads as the same values)."""
    lines_at = TWO_LINES.index(b"\x04\x02A")  # a block of two lines, then the first sku
    line = TWO_LINES[lines_at + 1 : -3]
    line = line[: len(line) // 2]  # the two lines are alike; then the array's end and total
    head, tail = TWO_LINES[:lines_at], TWO_LINES[-3:]
    return {
        "a decimal with leading zero bytes": raw_receipt(
            lines=[_LINE, _LINE], total=(4).to_bytes(4, "big")
        ),
        "the lines in two blocks": head + b"\x02" + line + b"\x02" + line + tail,
        "a varint with a zero last group": head + b"\x84\x00" + line + line + tail,
    }


def test_a_longer_encoding_of_the_same_receipt_has_the_same_fingerprint() -> None:
    good = TWO_LINES
    canonical = CODEC.decode_receipt(good)
    assert canonical.fingerprint == receipt_digest(good[HEADER_SIZE:])
    for case, data in _longer_encodings().items():
        assert fastavro.schemaless_reader(BytesIO(data[HEADER_SIZE:]), _schema()) == (
            fastavro.schemaless_reader(BytesIO(good[HEADER_SIZE:]), _schema())
        ), case
        try:
            read_receipt(data, HEADER_SIZE)
        except Unreadable:
            pass
        else:
            raise AssertionError(f"{case}: the hand-written reader took a longer encoding")
        decoded = CODEC.decode_receipt(data)
        assert decoded == canonical, case
        assert decoded.fingerprint == canonical.fingerprint, case


def test_other_content_has_another_fingerprint() -> None:
    one = CODEC.decode_receipt(raw_receipt())
    other = CODEC.decode_receipt(raw_receipt(store_id="S-2"))
    assert one.fingerprint != other.fingerprint


def _schema() -> object:
    return fastavro.parse_schema(load_schema("Receipt"))


# -- the duplicate check with the codec's fingerprints --


def _decoded(receipt: Receipt) -> Receipt:
    return CODEC.decode_receipt(CODEC.encode(receipt))


def test_a_decoded_retry_is_a_duplicate_and_other_content_conflicts() -> None:
    run = Run(program())
    first = _decoded(sale("r1", "10.00", "2025-01-05T12:00"))
    assert run(first).ledger
    assert len(run.member.receipts["r1"].fingerprint) == 12
    assert not run(_decoded(sale("r1", "10.00", "2025-01-05T12:00")))
    out = run(_decoded(sale("r1", "99.00", "2025-01-05T12:00")))
    assert [r.error_code for r in out.rejections] == ["conflicting_duplicate"]


def test_a_state_written_with_text_fingerprints_knows_its_receipts_when_they_are_decoded() -> None:
    # Member states written before the codec's digests hold 8-byte text fingerprints (as a
    # receipt made in code still gets): a decoded retry is compared by that kind.
    run = Run(program())
    run(sale("r1", "10.00", "2025-01-05T12:00"))
    assert len(run.member.receipts["r1"].fingerprint) == TEXT_FINGERPRINT_SIZE
    run.state = MemberState.from_bytes(run.member.to_bytes())
    assert not run(_decoded(sale("r1", "10.00", "2025-01-05T12:00")))
    out = run(_decoded(sale("r1", "99.00", "2025-01-05T12:00")))
    assert [r.error_code for r in out.rejections] == ["conflicting_duplicate"]


def test_a_waiting_return_is_compared_by_value() -> None:
    run = Run(program())
    waiting = _decoded(return_of("ret1", "missing-sale", "5.00", "2025-01-05T12:00"))
    run(waiting)
    assert "ret1" in run.member.pending_returns
    run.state = MemberState.from_bytes(run.member.to_bytes())
    assert not run(return_of("ret1", "missing-sale", "5.0", "2025-01-05T12:00"))
    out = run(_decoded(return_of("ret1", "missing-sale", "6.00", "2025-01-05T12:00")))
    assert [r.error_code for r in out.rejections] == ["conflicting_duplicate"]


def test_a_receipt_made_in_code_is_not_compared_with_a_decoded_ones_digest() -> None:
    # Every receipt reaches the worker through the codec; mixing the two ways is a test's
    # mistake, said plainly rather than answered wrongly.
    run = Run(program())
    run(_decoded(sale("r1", "10.00", "2025-01-05T12:00")))
    with pytest.raises(ValueError, match="decode it"):
        run(sale("r1", "10.00", "2025-01-05T12:00"))
