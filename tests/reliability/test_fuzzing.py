"""Fuzzing, for a bounded time: the decoder raises nothing but `CodecError` on any bytes, and
the rules core raises nothing at all on any sequence of events the codec lets through.

Four kinds of bytes reach the decoder: random bytes; valid messages cut, flipped and spliced;
a known header over a random body; and Avro written straight from the schema with any value
of each field's type (the contract's checks are what must refuse those). The core gets random
histories over a few members and ids, so repeats, conflicting duplicates, returns of unknown
sales, redemptions beyond the balance and ticks in any order all occur.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.rules import apply
from agents.rules.events import (
    LineItem,
    MemberEvent,
    MemberEventType,
    Receipt,
    ReceiptKind,
    ReviewTick,
)
from schemas.codec import Codec, without_logical_types
from schemas.errors import CodecError
from streams.program import load_program

pytestmark = [pytest.mark.reliability]

# ~45 s in all on the 2-core VM; the figures are in docs/reliability.md.
EXAMPLES_PER_DECODER_TEST = 6_000
RULES_EXAMPLES = 3_000
FUZZ = settings(
    max_examples=EXAMPLES_PER_DECODER_TEST,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
PROGRAM = load_program("streams/program.example.toml")
CODEC = Codec()
DECODERS = (CODEC.decode_receipt, CODEC.decode_member_event, CODEC.decode_record)
START = datetime(2026, 1, 1, 9, tzinfo=UTC)

# Text that has broken parsers before: controls, NUL, surrogate-free astral characters,
# right-to-left marks, combining characters, very long runs.
NASTY_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["", " ", "\x00", "\u202e", "e\u0301", "\U0001f600" * 3, "ß" * 200, "\ufeff", "a" * 2000]
    ),
)


def decodes_or_refuses(data: bytes) -> None:
    for decode in DECODERS:
        with contextlib.suppress(CodecError):
            decode(data)


def valid_messages() -> list[bytes]:
    line = LineItem("SKU-1", "grocery", 2, Decimal("1.50"), Decimal("3.00"))
    sale = Receipt(
        "r-1", "m-1", "s-1", START, PROGRAM.currency, ReceiptKind.SALE, (line,), Decimal("3.00")
    )
    enrolled = MemberEvent(
        MemberEventType.ENROLLED, "e-1", "m-1", START, name="Zoë", email="z@example.com"
    )
    return [CODEC.encode(sale), CODEC.encode(enrolled)]


VALID = valid_messages()
EXAMPLES = {"decoder": 4 * EXAMPLES_PER_DECODER_TEST, "rules": RULES_EXAMPLES}


@pytest.fixture(scope="module", autouse=True)
def fuzzing_figures() -> Iterator[None]:
    """How long the module fuzzed and how many examples it tried, for docs/reliability.md."""
    from pipeline import record

    began = time.monotonic()
    yield
    record(
        "fuzzing (hypothesis)",
        injected=sum(EXAMPLES.values()),
        examples=EXAMPLES,
        seconds=round(time.monotonic() - began, 1),
        escaped_exceptions=0,
    )


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_are_refused_with_a_codec_error(data: bytes) -> None:
    decodes_or_refuses(data)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A valid message cut, with bytes flipped, inserted or deleted."""
    data = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
        if action == "flip" and data:
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete" and data:
            del data[position]
        elif action == "cut":
            data = data[:position]
    return bytes(data)


@FUZZ
@given(damaged())
def test_damaged_messages_are_refused_with_a_codec_error(data: bytes) -> None:
    decodes_or_refuses(data)


@FUZZ
@given(st.sampled_from(VALID), st.binary(max_size=300))
def test_a_known_header_over_a_random_body_is_refused_with_a_codec_error(
    valid: bytes, body: bytes
) -> None:
    decodes_or_refuses(valid[:10] + body)


def avro_values(node: Any, named: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Any value of an Avro type (logical types read as their base types)."""
    if isinstance(node, str):
        primitive: dict[str, st.SearchStrategy[Any]] = {
            "null": st.none(),
            "boolean": st.booleans(),
            "int": st.integers(-(2**31), 2**31 - 1),
            "long": st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-(10**13), 5 * 10**12)),
            "string": NASTY_TEXT,
            "bytes": st.binary(max_size=12),
        }
        return primitive[node] if node in primitive else st.deferred(lambda: named[node])
    if isinstance(node, list):
        return st.one_of([avro_values(branch, named) for branch in node])
    kind = node["type"]
    if kind == "record":
        fields = {f["name"]: avro_values(f["type"], named) for f in node["fields"]}
        strategy = st.fixed_dictionaries(fields)
        named[node["name"]] = strategy
        return strategy
    if kind == "enum":
        strategy = st.sampled_from(node["symbols"])
        named[node["name"]] = strategy
        return strategy
    if kind == "array":
        return st.lists(avro_values(node["items"], named), max_size=4)
    return avro_values(kind, named)


def schema_written(name: str) -> st.SearchStrategy[bytes]:
    import fastavro

    raw = without_logical_types(CODEC.schema(name))
    parsed = fastavro.parse_schema(raw, named_schemas={})
    header = VALID[0][:10] if name == "Receipt" else VALID[1][:10]

    def write(record: dict[str, Any]) -> bytes:
        body = BytesIO()
        fastavro.schemaless_writer(body, parsed, record)
        return header + body.getvalue()

    return avro_values(raw, {}).map(write)


@FUZZ
@given(st.one_of(schema_written("Receipt"), schema_written("MemberEvent")))
def test_any_value_of_the_schema_is_decoded_or_refused_with_a_codec_error(data: bytes) -> None:
    decodes_or_refuses(data)


# -- the rules core -------------------------------------------------------------------------

MEMBERS = st.sampled_from(["m-1", "m-2", "m-3"])
IDS = st.sampled_from([f"x-{n}" for n in range(8)])
MOMENTS = st.one_of(
    st.integers(0, 400 * 24).map(lambda hours: START + timedelta(hours=hours)),
    st.sampled_from([datetime(2000, 1, 1, tzinfo=UTC), datetime(2099, 12, 31, 23, tzinfo=UTC)]),
)
CATEGORIES = st.sampled_from(["grocery", "wine", "tobacco", "electronics", "Ünïcode"])
MONEY = st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2)


@st.composite
def receipts(draw: st.DrawFn) -> Receipt:
    lines = tuple(
        LineItem(draw(IDS), draw(CATEGORIES), draw(st.integers(1, 50)), price, draw(MONEY))
        for price in draw(st.lists(MONEY, min_size=1, max_size=4))
    )
    kind = draw(st.sampled_from(ReceiptKind))
    receipt_id = draw(IDS)
    original = draw(IDS.filter(lambda i: i != receipt_id)) if kind is ReceiptKind.RETURN else None
    total = sum((line.amount for line in lines), Decimal(0))
    return Receipt(
        receipt_id, draw(MEMBERS), "s-1", draw(MOMENTS), PROGRAM.currency, kind, lines, total,
        original_receipt_id=original,
    )  # fmt: skip


@st.composite
def member_events(draw: st.DrawFn) -> MemberEvent:
    kind = draw(st.sampled_from(MemberEventType))
    points = draw(st.one_of(st.none(), st.integers(-(10**12), 10**12)))
    return MemberEvent(
        kind,
        draw(IDS),
        draw(MEMBERS),
        draw(MOMENTS),
        name=draw(st.one_of(st.none(), st.text(max_size=20))),
        email=draw(st.sampled_from([None, "a@b.c", "ü@ß.example"])),
        points=points,
        actor=draw(st.sampled_from([None, "agent-7"])),
        reason=draw(st.sampled_from([None, "goodwill"])),
        counts_toward_qualifying=draw(st.booleans()),
        reward_id=draw(st.sampled_from([None, "RW-COFFEE"])),
    )


TICKS = st.dates(date(2025, 12, 1), date(2027, 6, 1)).map(ReviewTick)
EVENTS = st.lists(st.one_of(receipts(), member_events(), TICKS), max_size=30)


def through_the_codec(event: Receipt | MemberEvent | ReviewTick) -> Any:
    """What the worker would hand the core: the decoded event, or None if refused."""
    if isinstance(event, ReviewTick):
        return event
    try:
        data = CODEC.encode(event)
        decode = CODEC.decode_receipt if isinstance(event, Receipt) else CODEC.decode_member_event
        return decode(data)
    except CodecError:
        return None


@settings(
    max_examples=RULES_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(EVENTS)
def test_the_rules_core_never_raises_on_events_the_codec_accepts(
    events: list[Receipt | MemberEvent | ReviewTick],
) -> None:
    states: dict[str, Any] = {}
    for raw in events:
        event = through_the_codec(raw)
        if event is None:
            continue
        members = [event.member_id] if not isinstance(event, ReviewTick) else sorted(states)
        for member_id in members:
            state, outputs = apply(states.get(member_id), event, PROGRAM)
            states[member_id] = state
            for output in (*outputs.ledger, *outputs.tier_changes, *outputs.notifications):
                CODEC.decode_record(CODEC.encode(output))  # every output is writable
