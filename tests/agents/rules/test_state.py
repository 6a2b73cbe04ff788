"""Member state: exact msgpack round trip, compact, and bounded by the horizons."""

from __future__ import annotations

from datetime import date, timedelta

from agents.rules import MemberState

from .builders import Run, adjusted, enrolled, program, return_of, sale


def typical_member(months: int = 12, expiry: int | None = 24) -> Run:
    """Enrolled, two purchases a month, an adjustment, a waiting return."""
    run = Run(program(expiry_months=expiry))
    run(enrolled("e1", "2025-01-01T09:00"))
    day = date(2025, 1, 3)
    for n in range(months * 2):
        run(sale(f"POS-0001-{n:06d}", "42.50", f"{day.isoformat()}T12:00"))
        day += timedelta(days=15)
    run(adjusted("adj-1", 25, f"{day.isoformat()}T09:00"))
    run(return_of("RET-1", "POS-9", "10.00", f"{day.isoformat()}T10:00"))
    return run


def test_round_trip_is_exact() -> None:
    member = typical_member().member
    assert MemberState.from_bytes(member.to_bytes()) == member
    assert MemberState.from_bytes(member.to_bytes()).to_bytes() == member.to_bytes()


def test_unknown_member_round_trips() -> None:
    unknown = MemberState.unknown("x")
    assert MemberState.from_bytes(unknown.to_bytes()) == unknown


def test_typical_member_state_is_compact() -> None:
    size = len(typical_member().member.to_bytes())
    print(f"state bytes, typical member (24 receipts in the window, lots on): {size}")
    assert size < 3_000


def test_state_stays_bounded_over_years() -> None:
    short = typical_member(months=12).member
    long = typical_member(months=60).member
    assert len(long.receipts) <= len(short.receipts) + 2
    assert len(long.qualifying) <= 25
    assert len(long.to_bytes()) < len(short.to_bytes()) + 300


def test_working_copy_equals_the_original_and_shares_no_container() -> None:
    member = typical_member().member
    copied = member.copy()
    assert copied == member
    copied.qualifying.clear()
    copied.receipts.clear()
    assert member.qualifying and member.receipts
