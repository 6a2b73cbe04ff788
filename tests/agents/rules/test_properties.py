"""Properties over random event sequences of one member (hypothesis).

The balance is the sum of the ledger; qualifying points never go below zero; applying any
event twice equals applying it once; a restart (state to bytes and back) changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.rules import (
    Campaign,
    DowngradePolicy,
    LineItem,
    MemberEvent,
    MemberEventType,
    MemberState,
    Outputs,
    Program,
    ProgramVersion,
    Receipt,
    ReceiptKind,
    ReviewTick,
    Tier,
    apply,
)

from .builders import MEMBER, TEMPLATES

START = datetime(2025, 1, 1, 12, 0, tzinfo=ZoneInfo("UTC"))
Event = Receipt | MemberEvent | ReviewTick


def make_program(
    policy: DowngradePolicy,
    hold: int,
    expiry: int | None,
    window: int,
    match_days: int = 5,
    timezone: str = "America/Santiago",
    switch: datetime = datetime(2025, 6, 1),
) -> Program:
    campaign = Campaign(
        id="c1",
        name="wine x2",
        starts=datetime(2025, 1, 1),
        ends=datetime(2026, 1, 1),
        categories=("wine",),
        bonus_multiplier=Decimal(1),
        max_bonus_per_member=300,
    )
    tiers = (
        Tier("Member", 0, Decimal(1)),
        Tier("Silver", 500, Decimal("1.5"), entry_bonus=50),
        Tier("Gold", 2_000, Decimal(2), entry_bonus=200),
    )
    first = ProgramVersion(
        tiers=tiers,
        templates=TEMPLATES,
        downgrade_policy=policy,
        hold_months=hold,
        expiry_months=expiry,
        window_months=window,
        campaigns=(campaign,),
        excluded_categories=frozenset({"tobacco"}),
        returns_match_days=5,
    )
    second = ProgramVersion(
        tiers=(tiers[0], Tier("Silver", 400, Decimal("1.25")), tiers[2]),
        effective_from=datetime(2025, 6, 1),
        templates=TEMPLATES,
        downgrade_policy=policy,
        hold_months=hold,
        expiry_months=expiry,
        window_months=window,
        returns_match_days=5,
    )
    return Program(name="p", currency="USD", timezone="America/Santiago", versions=(first, second))


programs = st.builds(
    make_program,
    st.sampled_from(list(DowngradePolicy)),
    st.sampled_from([0, 2]),
    st.sampled_from([None, 2]),
    st.sampled_from([1, 3, 12]),
    st.sampled_from([0, 5]),
    st.sampled_from(["America/Santiago", "UTC", "Asia/Kolkata", "Pacific/Chatham"]),
    st.sampled_from([datetime(2025, 6, 1), datetime(2025, 6, 1, 13, 30)]),
)


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    events: list[Event] = []
    hours = 0
    sale_ids: list[str] = []
    count = draw(st.integers(min_value=1, max_value=30))
    for n in range(count):
        hours += draw(st.integers(min_value=0, max_value=24 * 45))
        late = draw(st.sampled_from([0, 0, 0, 0, 30 * 24]))
        when = START + timedelta(hours=hours - late)
        kind = draw(
            st.sampled_from(
                [
                    "sale",
                    "sale",
                    "sale",
                    "return",
                    "redeem",
                    "adjust",
                    "block",
                    "unblock",
                    "tick",
                    "enroll",
                    "repeat",
                    "conflict",
                    "early_return",
                    "anonymize",
                ]
            )
        )
        if kind == "anonymize" and draw(st.integers(0, 4)):
            kind = "sale"
        if kind == "sale":
            cents = draw(st.integers(min_value=0, max_value=150_000))
            category = draw(st.sampled_from(["grocery", "wine", "tobacco"]))
            amount = Decimal(cents) / 100
            line = LineItem("SKU", category, 1, amount, amount)
            events.append(
                Receipt(f"r{n}", MEMBER, "S1", when, "USD", ReceiptKind.SALE, (line,), amount)
            )
            sale_ids.append(f"r{n}")
        elif kind in ("return", "early_return"):
            original = (
                draw(st.sampled_from(sale_ids))
                if sale_ids and kind == "return"
                else f"r{n + draw(st.integers(1, 3))}"
            )
            cents = draw(st.integers(min_value=1, max_value=100_000))
            amount = Decimal(cents) / 100
            line = LineItem("SKU", draw(st.sampled_from(["grocery", "wine"])), 1, amount, amount)
            events.append(
                Receipt(
                    f"x{n}",
                    MEMBER,
                    "S1",
                    when,
                    "USD",
                    ReceiptKind.RETURN,
                    (line,),
                    amount,
                    original_receipt_id=original,
                )
            )
        elif kind == "redeem":
            events.append(
                MemberEvent(
                    MemberEventType.POINTS_REDEEMED,
                    f"e{n}",
                    MEMBER,
                    when,
                    points=draw(st.integers(1, 3_000)),
                )
            )
        elif kind == "adjust":
            events.append(
                MemberEvent(
                    MemberEventType.POINTS_ADJUSTED,
                    f"e{n}",
                    MEMBER,
                    when,
                    points=draw(st.integers(-2_000, 2_000)),
                    actor="a",
                    reason="r",
                    counts_toward_qualifying=draw(st.booleans()),
                )
            )
        elif kind in ("block", "unblock", "anonymize"):
            kinds = {
                "block": MemberEventType.BLOCKED,
                "unblock": MemberEventType.UNBLOCKED,
                "anonymize": MemberEventType.ANONYMIZED,
            }
            events.append(MemberEvent(kinds[kind], f"e{n}", MEMBER, when, actor="a"))
        elif kind == "enroll":
            events.append(
                MemberEvent(
                    MemberEventType.ENROLLED,
                    f"e{n}",
                    MEMBER,
                    when,
                    name="Ana",
                    email="a@x.org",
                    consent_email=True,
                )
            )
        elif kind == "tick":
            events.append(ReviewTick((when + timedelta(days=1)).date()))
        elif kind == "conflict" and any(isinstance(e, Receipt) for e in events):
            earlier = draw(st.sampled_from([e for e in events if isinstance(e, Receipt)]))
            events.append(replace(earlier, store_id="S2"))
        elif events:
            events.append(draw(st.sampled_from(events)))
    return events


def run_all(
    events: list[Event], prog: Program, restart_at: int | None = None
) -> tuple[MemberState | None, list[Outputs]]:
    state: MemberState | None = None
    outputs: list[Outputs] = []
    for index, event in enumerate(events):
        if index == restart_at and state is not None:
            state = MemberState.from_bytes(state.to_bytes())
        if isinstance(event, ReviewTick) and state is None:
            continue
        state, out = apply(state, event, prog)
        outputs.append(out)
    return state, outputs


PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(programs, histories())
def test_balance_is_the_sum_of_the_ledger(prog: Program, events: list[Event]) -> None:
    state, outputs = run_all(events, prog)
    if state is None:
        return
    entries = [entry for out in outputs for entry in out.ledger]
    assert state.balance == sum(entry.points for entry in entries)
    if entries:
        assert entries[-1].balance_after == state.balance
    assert sum(state.lots.values()) <= max(0, state.balance)


@PROPERTY
@given(programs, histories())
def test_qualifying_points_never_go_below_zero(prog: Program, events: list[Event]) -> None:
    state: MemberState | None = None
    for event in events:
        if isinstance(event, ReviewTick) and state is None:
            continue
        state, _ = apply(state, event, prog)
        assert all(points > 0 for points in state.qualifying.values())
        assert state.qualifying_points >= 0


@PROPERTY
@given(programs, histories())
def test_applying_any_event_twice_equals_applying_it_once(
    prog: Program, events: list[Event]
) -> None:
    state: MemberState | None = None
    for event in events:
        if isinstance(event, ReviewTick) and state is None:
            continue
        once, first = apply(state, event, prog)
        twice, second = apply(once, event, prog)
        assert twice == once
        assert not second.ledger and not second.tier_changes and not second.notifications
        assert [r.error_code for r in second.rejections] in (
            [],
            [r.error_code for r in first.rejections],
        )
        state = once


@PROPERTY
@given(programs, histories(), st.integers(min_value=0, max_value=30))
def test_a_restart_between_events_changes_nothing(
    prog: Program, events: list[Event], restart_at: int
) -> None:
    straight_state, straight = run_all(events, prog)
    restarted_state, restarted = run_all(events, prog, restart_at)
    assert restarted_state == straight_state
    assert restarted == straight


@PROPERTY
@given(programs, histories(), st.lists(st.integers(min_value=0, max_value=60), max_size=6))
def test_ticks_between_in_order_events_change_nothing_but_timing(
    prog: Program, events: list[Event], tick_offsets: list[int]
) -> None:
    """Live (ticks at midnight) and offline (reviews driven by the next event) agree."""
    in_order = sorted(
        (e for e in events if not isinstance(e, ReviewTick)), key=lambda e: e.occurred_at
    )
    with_ticks: list[Event] = []
    for index, event in enumerate(in_order):
        with_ticks.append(event)
        if index + 1 < len(in_order) and index < len(tick_offsets):
            local_next = prog.local(in_order[index + 1].occurred_at).date()
            tick_day = prog.local(event.occurred_at).date() + timedelta(days=tick_offsets[index])
            with_ticks.append(ReviewTick(min(tick_day, local_next)))
    plain_state, plain = run_all(list(in_order), prog)
    ticked_state, ticked = run_all(with_ticks, prog)
    assert ticked_state == plain_state
    assert sorted(e.entry_id for out in ticked for e in out.ledger) == sorted(
        e.entry_id for out in plain for e in out.ledger
    )
    assert [c.event_id for out in ticked for c in out.tier_changes] == [
        c.event_id for out in plain for c in out.tier_changes
    ]
