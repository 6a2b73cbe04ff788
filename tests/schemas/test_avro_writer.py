"""The hand-written bodies of schemas.avro_writer are byte for byte fastavro's, and a value
they do not expect is left to fastavro (which writes it or names the error)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire_examples import AT, every_message

from agents.rules.outputs import (
    Channel,
    Direction,
    LedgerEntry,
    LedgerKind,
    Notification,
    TierChange,
)
from agents.rules.view import MemberView
from schemas.avro_writer import BODY_WRITERS, long_bytes
from schemas.codec import Codec, CodecError
from schemas.records import MemberSnapshot

CODEC = Codec()
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

texts = st.text(max_size=90)  # past 63 UTF-8 bytes a length takes two varint bytes
longs = st.integers(min_value=-(2**63), max_value=2**63 - 1)
moments = st.integers(min_value=-(10**13), max_value=10**13).map(
    lambda ms: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
)
multipliers = st.integers(min_value=-(10**11), max_value=10**11).map(
    lambda n: Decimal(n).scaleb(-4)
)
ledger_entries = st.builds(
    LedgerEntry,
    entry_id=texts,
    member_id=texts,
    occurred_at=moments,
    kind=st.sampled_from(LedgerKind),
    points=longs,
    qualifying_points=longs,
    balance_after=longs,
    tier=texts,
    multiplier=multipliers,
    receipt_id=st.none() | texts,
    event_id=st.none() | texts,
    campaign_id=st.none() | texts,
    description=st.text(max_size=300),
    actor=st.none() | texts,
    reason=st.none() | texts,
)
tier_changes = st.builds(
    TierChange,
    event_id=texts,
    member_id=texts,
    from_tier=texts,
    to_tier=texts,
    direction=st.sampled_from(Direction),
    qualifying_points=longs,
    effective_at=moments,
    reason=texts,
)
notifications = st.builds(
    Notification,
    notification_id=texts,
    member_id=texts,
    channel=st.sampled_from(Channel),
    template=texts,
    recipient=texts,
    subject=texts,
    body=st.text(max_size=600),
    created_at=moments,
)
snapshots = st.builds(
    MemberSnapshot,
    view=st.builds(
        MemberView,
        member_id=texts,
        status=st.sampled_from(["active", "blocked", "closed"]),
        tier=texts,
        balance=longs,
        qualifying_points=longs,
        next_tier=st.none() | texts,
        points_to_next_tier=longs,
        points_at_risk_30d=longs,
        enrolled_at=st.none() | moments,
        name=st.none() | texts,
        email=st.none() | texts,
        phone=st.none() | texts,
        multiplier=multipliers,
    ),
    updated_at=moments,
)


def _both_ways(message: object) -> tuple[Any, Any]:
    """(what `encode` gives, what the fastavro path gives): bytes, or the error's code and
    message."""

    def outcome(encode: Any) -> Any:
        try:
            return encode(message)
        except CodecError as error:
            return (error.code, error.message, error.field)

    return outcome(CODEC.encode), outcome(CODEC._encode_with_fastavro)


@pytest.mark.parametrize(
    "message",
    [m for m in every_message() if type(m) in BODY_WRITERS],
    ids=lambda m: type(m).__name__,
)
def test_every_example_is_written_as_fastavro_writes_it(message: object) -> None:
    written, by_fastavro = _both_ways(message)
    assert written == by_fastavro


@SETTINGS
@given(st.one_of(ledger_entries, tier_changes, notifications, snapshots))
def test_any_output_is_written_as_fastavro_writes_it(message: object) -> None:
    written, by_fastavro = _both_ways(message)
    assert isinstance(written, bytes)
    assert written == by_fastavro


def _entry(**changes: Any) -> LedgerEntry:
    entry = every_message()[7]
    assert isinstance(entry, LedgerEntry)
    return replace(entry, **changes)


@pytest.mark.parametrize(
    "value",
    [0, 1, -1, 63, -64, 64, -65, 8191, -8192, 8192, 2**31, -(2**31), 2**62, 2**63 - 1, -(2**63)],
)
def test_a_long_is_zigzag_varint_as_fastavro_writes_it(value: int) -> None:
    entry = _entry(points=value)
    written, by_fastavro = _both_ways(entry)
    assert written == by_fastavro
    assert long_bytes(value) in written


_VIEW: MemberView = every_message()[-1].view  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(_entry(occurred_at=datetime(2025, 1, 1)), id="naive time"),
        pytest.param(
            _entry(occurred_at=datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=-5)))),
            id="time not in UTC",
        ),
        pytest.param(_entry(points=2**63), id="long too large"),
        pytest.param(_entry(points=-(2**63) - 1), id="long too small"),
        pytest.param(_entry(points=1.5), id="float points"),
        pytest.param(_entry(points=True), id="bool points"),
        pytest.param(_entry(multiplier=2), id="int multiplier"),
        pytest.param(_entry(multiplier=2.0), id="float multiplier"),
        pytest.param(_entry(multiplier=Decimal("1.00001")), id="five places"),
        pytest.param(_entry(multiplier=Decimal("NaN")), id="NaN multiplier"),
        pytest.param(_entry(kind="EARN"), id="kind as plain text"),
        pytest.param(_entry(tier=None), id="no tier"),
        pytest.param(_entry(receipt_id=b"R-1"), id="bytes id"),
        pytest.param(_entry(description="\ud800"), id="lone surrogate"),
        pytest.param(MemberSnapshot(replace(_VIEW, status="gone"), AT), id="unknown status"),
        pytest.param(MemberSnapshot(replace(_VIEW, balance=None), AT), id="no balance"),  # type: ignore[arg-type]
    ],
)
def test_an_unexpected_value_gets_what_fastavro_makes_of_it(message: object) -> None:
    written, by_fastavro = _both_ways(message)
    assert written == by_fastavro


def test_a_message_over_the_limit_is_refused_the_same_way() -> None:
    written, by_fastavro = _both_ways(_entry(description="x" * (1024 * 1024)))
    assert written == by_fastavro
    assert written[0] == "message_too_large"
