"""Member state: exact msgpack round trip, compact, and bounded by the horizons."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from agents.rules import MemberState
from agents.rules.events import LineItem, Receipt, ReceiptKind
from agents.rules.state import MemberStatus, ReceiptRecord, SeenEvent

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


def every_kind_of_field() -> MemberState:
    """A state with something in every field: blocked, a hold and a one_down step, a returned
    sale with campaign points and money that is not whole cents, a return's record, a waiting
    return, member events, campaign totals and entry-bonus dates."""
    return MemberState(
        member_id="M-000042",
        tier="Gold",
        status=MemberStatus.BLOCKED,
        enrolled_at=datetime(2024, 3, 1, 14, 30, 5, 123456, tzinfo=UTC),
        name="Zoë Ångström",
        email="zoe@example.com",
        phone=None,
        consent_email=True,
        consent_sms=False,
        balance=-120,
        reviewed_through=date(2025, 2, 27),
        hold_until=date(2025, 6, 1),
        next_step_on=date(2025, 3, 27),
        qualifying={date(2024, 3, 2): 1200, date(2024, 12, 24): 30, date(2025, 2, 27): 7},
        lots={date(2026, 3, 2): 800, date(2026, 12, 24): 45},
        receipts={
            "R-1": ReceiptRecord(b"\x01" * 8, 1709390000, False, 120000, 1200, 1200, (), 0),
            "R-2": ReceiptRecord(
                b"\x02" * 8,
                1735050000,
                False,
                "12.345",
                60,
                30,
                (("weekend-double", 30),),
                2,
                2500,
                25,
                12,
                (("weekend-double", 12),),
            ),
            "R-3": ReceiptRecord(b"\x03" * 8, 1735060000, True),
        },
        pending_returns={
            "RET-9": Receipt(
                receipt_id="RET-9",
                member_id="M-000042",
                store_id="S-017",
                occurred_at=datetime(2025, 2, 26, 18, 0, 1, 500000, tzinfo=UTC),
                currency="USD",
                kind=ReceiptKind.RETURN,
                lines=(
                    LineItem("SKU-1", "home", 2, Decimal("3.25"), Decimal("6.50")),
                    LineItem("SKU-2", "beauty", 1, Decimal("10"), Decimal("10.00")),
                ),
                total=Decimal("16.50"),
                terminal_id=None,
                original_receipt_id="R-9",
            )
        },
        member_events={
            "E-1": SeenEvent(b"\x0a" * 8, 738946),
            "E-2": SeenEvent(b"\x0b" * 8, 739300),
        },
        campaign_bonus={"weekend-double": 18, "big-basket-250": 250},
        tier_bonus_on={"Silver": date(2024, 6, 1), "Gold": date(2024, 12, 24)},
    )


# `every_kind_of_field()` as format 2 (msgpack, before format 3) wrote it: changelogs hold
# such bytes, so they must read back to the same state.
FORMAT_2 = bytes.fromhex(
    "dc001402a84d2d303030303432a4476f6c64a7626c6f636b6564cf0006129a36469780af5a6fc3ab20c3856e"
    "67737472c3b66daf7a6f65406578616d706c652e636f6dc001d088ce000b47edce000b484bce000b480996ce"
    "000b4683cd04b0ce000b47ac1ece000b47ed0794ce000b495dcd0320ce000b4a862d96a3522d3198c4080101"
    "010101010101ce65e338b0c2ce0001d4c0cd04b0cd04b09000a3522d329cc4080202020202020202ce676ac3"
    "10c2a631322e3334353c1e9192ae7765656b656e642d646f75626c651e02cd09c4190c9192ae7765656b656e"
    "642d646f75626c650ca3522d3393c4080303030303030303ce676aea20c3919aa55245542d39a84d2d303030"
    "303432a5532d303137cf00062f0f57a1cb60a3555344a652455455524e9295a5534b552d31a4686f6d6502a4"
    "332e3235a4362e353095a5534b552d32a662656175747901a23130a531302e3030a531362e3530c0a3522d39"
    "96a3452d31c4080a0a0a0a0a0a0a0ace000b4682a3452d32c4080b0b0b0b0b0b0b0bce000b47e494ae776565"
    "6b656e642d646f75626c6512ae6269672d6261736b65742d323530ccfa94a653696c766572ce000b46dea447"
    "6f6c64ce000b47ac"
)


def test_a_state_written_in_format_2_reads_back_the_same() -> None:
    assert MemberState.from_bytes(FORMAT_2) == every_kind_of_field()


def test_a_state_read_from_format_2_is_written_in_format_3() -> None:
    state = MemberState.from_bytes(FORMAT_2)
    assert state.to_bytes()[:1] == b"\x03"
    assert MemberState.from_bytes(state.to_bytes()) == every_kind_of_field()


def test_every_kind_of_field_round_trips_exactly() -> None:
    state = every_kind_of_field()
    again = MemberState.from_bytes(state.to_bytes())
    assert again == state
    waiting = again.pending_returns["RET-9"]
    assert [str(line.amount) for line in waiting.lines] == ["6.50", "10.00"]  # places kept
    assert waiting.occurred_at.tzinfo == UTC
    assert type(again.status) is MemberStatus
    assert type(again.receipts["R-2"]) is ReceiptRecord
    assert type(again.member_events["E-1"]) is SeenEvent
