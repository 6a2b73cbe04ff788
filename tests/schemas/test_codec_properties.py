"""Properties of the codec: valid messages round-trip; arbitrary bytes never crash a reader."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.rules.events import LineItem, MemberEvent, MemberEventType, Receipt, ReceiptKind
from agents.rules.outputs import LedgerEntry, LedgerKind
from schemas.checks import ISO_4217
from schemas.codec import Codec, CodecError
from schemas.errors import CODES
from schemas.jsonl import parse_json_line, to_json_line
from schemas.records import ReviewTickMessage

CODEC = Codec()
WITH_REGISTRY = Codec(schema_registry_url="mock://tierflow-properties")
WITH_REGISTRY.encode(ReviewTickMessage(date(2025, 1, 1), 0, datetime(2025, 1, 1, tzinfo=UTC)))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ids = st.text(min_size=1, max_size=40).filter(lambda text: not text.isspace())
moments = st.integers(
    min_value=int(datetime(2000, 1, 1, tzinfo=UTC).timestamp() * 1000),
    max_value=int(datetime(2099, 12, 31, tzinfo=UTC).timestamp() * 1000),
).map(lambda ms: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms))
cents = st.integers(min_value=0, max_value=10**11).map(lambda n: Decimal(n).scaleb(-2))
line_items = st.builds(
    LineItem,
    sku=ids,
    category=ids,
    quantity=st.integers(min_value=1, max_value=1000),
    unit_price=cents,
    amount=cents,
)


@st.composite
def receipts(draw: st.DrawFn) -> Receipt:
    lines = tuple(draw(st.lists(line_items, min_size=1, max_size=8)))
    kind = draw(st.sampled_from(ReceiptKind))
    receipt_id = draw(ids)
    original = draw(ids.filter(lambda o: o != receipt_id)) if kind is ReceiptKind.RETURN else None
    return Receipt(
        receipt_id=receipt_id,
        member_id=draw(ids),
        store_id=draw(ids),
        occurred_at=draw(moments),
        currency=draw(st.sampled_from(sorted(ISO_4217))),
        kind=kind,
        lines=lines,
        total=sum((line.amount for line in lines), Decimal(0)),
        terminal_id=draw(st.none() | ids),
        original_receipt_id=original,
    )


@st.composite
def member_events(draw: st.DrawFn) -> MemberEvent:
    kind = draw(st.sampled_from(MemberEventType))
    points = None
    actor = draw(st.none() | ids)
    reason = draw(st.none() | st.text(max_size=100))
    if kind is MemberEventType.POINTS_ADJUSTED:
        points = draw(st.integers(min_value=-(10**9), max_value=10**9).filter(bool))
        actor, reason = draw(ids), draw(ids)
    elif kind is MemberEventType.POINTS_REDEEMED:
        points = draw(st.integers(min_value=1, max_value=10**9))
    return MemberEvent(
        type=kind,
        event_id=draw(ids),
        member_id=draw(ids),
        occurred_at=draw(moments),
        name=draw(st.none() | st.text(max_size=50)),
        email=draw(st.none() | st.emails()),
        phone=draw(st.none() | st.text(max_size=20)),
        consent_email=draw(st.none() | st.booleans()),
        consent_sms=draw(st.none() | st.booleans()),
        points=points,
        actor=actor,
        reason=reason,
        counts_toward_qualifying=draw(st.booleans()),
        reward_id=draw(st.none() | ids),
    )


@SETTINGS
@given(receipts())
def test_any_valid_receipt_round_trips_through_avro_and_json(receipt: Receipt) -> None:
    assert CODEC.decode_receipt(CODEC.encode(receipt)) == receipt
    assert parse_json_line(to_json_line(receipt)) == receipt


@SETTINGS
@given(member_events())
def test_any_valid_member_event_round_trips_through_avro_and_json(event: MemberEvent) -> None:
    assert CODEC.decode_member_event(CODEC.encode(event)) == event
    assert parse_json_line(to_json_line(event)) == event


def _decodes_or_codec_error(data: bytes) -> None:
    """Every reader either returns a message or raises CodecError with a known code."""
    outcomes = set()
    for decode in (
        CODEC.decode_receipt,
        CODEC.decode_member_event,
        CODEC.decode_review_tick,
        CODEC.decode_record,
        WITH_REGISTRY.decode_receipt,
        WITH_REGISTRY.decode_record,
    ):
        try:
            decode(data)
            outcomes.add("decoded")
        except CodecError as error:
            outcomes.add(error.code)
    assert outcomes <= {"decoded", *CODES}


@SETTINGS
@given(st.binary(max_size=300))
def test_any_byte_string_decodes_or_raises_codec_error(data: bytes) -> None:
    _decodes_or_codec_error(data)


@SETTINGS
@given(st.sampled_from(["\xc3\x01", "\x00"]).map(str.encode), st.binary(max_size=300))
def test_any_body_behind_a_known_magic_decodes_or_raises_codec_error(
    magic: bytes, body: bytes
) -> None:
    _decodes_or_codec_error(magic + body)


@SETTINGS
@given(receipts(), st.data())
def test_a_corrupted_receipt_decodes_or_raises_codec_error(
    receipt: Receipt, data: st.DataObject
) -> None:
    encoded = bytearray(CODEC.encode(receipt))
    # Corrupt the body, not the header: that reaches fastavro and the checks.
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        position = data.draw(st.integers(min_value=10, max_value=len(encoded) - 1))
        encoded[position] = data.draw(st.integers(min_value=0, max_value=255))
    cut = data.draw(st.integers(min_value=0, max_value=len(encoded)))
    _decodes_or_codec_error(bytes(encoded[:cut]) + bytes(encoded[cut:]))
    _decodes_or_codec_error(bytes(encoded[:cut]))


@SETTINGS
@given(st.text(max_size=300))
def test_any_json_line_parses_or_raises_codec_error(line: str) -> None:
    try:
        message = parse_json_line(line)
    except CodecError as error:
        assert error.code in CODES
    else:
        assert isinstance(message, Receipt | MemberEvent)


ledger_entries = st.builds(
    LedgerEntry,
    entry_id=ids,
    member_id=ids,
    occurred_at=moments,
    kind=st.sampled_from(LedgerKind),
    points=st.integers(min_value=-(2**62), max_value=2**62),
    qualifying_points=st.integers(min_value=-(2**62), max_value=2**62),
    balance_after=st.integers(min_value=-(2**62), max_value=2**62),
    tier=ids,
    multiplier=st.integers(min_value=0, max_value=10**8).map(lambda n: Decimal(n).scaleb(-4)),
    receipt_id=st.none() | ids,
    event_id=st.none() | ids,
    campaign_id=st.none() | ids,
    description=st.text(max_size=200),
    actor=st.none() | ids,
    reason=st.none() | st.text(max_size=50),
)


@SETTINGS
@given(ledger_entries)
def test_any_ledger_entry_round_trips_in_both_framings(entry: LedgerEntry) -> None:
    for codec in (CODEC, WITH_REGISTRY):
        name, record = codec.decode_record(codec.encode(entry))
        assert name == "LedgerEntry"
        assert LedgerEntry(**record) == entry
