"""Small builders for the rules tests: a program, receipts, member events, and a runner."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from agents.rules import (
    LedgerEntry,
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
    Template,
    Templates,
    Tier,
    apply,
)

MEMBER = "m1"
TIERS = (
    Tier("Member", 0, Decimal(1)),
    Tier("Silver", 10_000, Decimal("1.5")),
    Tier("Gold", 25_000, Decimal(2)),
)
TEMPLATES = Templates(
    tier_up=Template(
        email_subject="Welcome to {to_tier}",
        email_body="Hi {name}, you moved from {from_tier} to {to_tier} with {qualifying_points}.",
        sms_body="{name}: you are {to_tier} now",
    ),
    tier_down=Template(
        email_subject="Your tier is now {to_tier}",
        email_body="Hi {name}, {points_to_next_tier} more to get {next_tier} back.",
        sms_body="",
    ),
)


def version(**fields: object) -> ProgramVersion:
    """The worked examples' program (Member x1, Silver 10,000 x1.5, Gold 25,000 x2)."""
    base = ProgramVersion(tiers=TIERS, templates=TEMPLATES)
    return replace(base, **fields)  # type: ignore[arg-type]


def program(*versions: ProgramVersion, timezone: str = "UTC", **fields: object) -> Program:
    chosen = versions or (version(**fields),)
    return Program(name="test", currency="USD", timezone=timezone, versions=chosen)


def at(text: str, zone: str = "UTC") -> datetime:
    """An aware moment from ISO text; without an offset, read in `zone`."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment


def line(amount: str, category: str = "grocery", sku: str = "SKU-1") -> LineItem:
    return LineItem(
        sku=sku, category=category, quantity=1, unit_price=Decimal(amount), amount=Decimal(amount)
    )


def sale(
    receipt_id: str,
    amount: str | Iterable[LineItem],
    when: str,
    member: str = MEMBER,
    store: str = "S1",
) -> Receipt:
    lines = (line(amount),) if isinstance(amount, str) else tuple(amount)
    return Receipt(
        receipt_id=receipt_id,
        member_id=member,
        store_id=store,
        occurred_at=at(when),
        currency="USD",
        kind=ReceiptKind.SALE,
        lines=lines,
        total=sum((ln.amount for ln in lines), Decimal(0)),
    )


def return_of(
    receipt_id: str,
    original: str,
    amount: str | Iterable[LineItem],
    when: str,
    member: str = MEMBER,
) -> Receipt:
    lines = (line(amount),) if isinstance(amount, str) else tuple(amount)
    return Receipt(
        receipt_id=receipt_id,
        member_id=member,
        store_id="S1",
        occurred_at=at(when),
        currency="USD",
        kind=ReceiptKind.RETURN,
        lines=lines,
        total=sum((ln.amount for ln in lines), Decimal(0)),
        original_receipt_id=original,
    )


def member_event(
    kind: MemberEventType, event_id: str, when: str, member: str = MEMBER, **fields: object
) -> MemberEvent:
    return MemberEvent(
        type=kind,
        event_id=event_id,
        member_id=member,  # type: ignore[arg-type]
        occurred_at=at(when),
        **fields,
    )


def enrolled(event_id: str, when: str, member: str = MEMBER, **fields: object) -> MemberEvent:
    contact: dict[str, object] = {
        "name": "Ana",
        "email": "ana@example.com",
        "phone": "+15550100",
        "consent_email": True,
        "consent_sms": False,
    }
    contact.update(fields)
    return member_event(MemberEventType.ENROLLED, event_id, when, member, **contact)


def adjusted(
    event_id: str,
    points: int,
    when: str,
    qualifying: bool = False,
    actor: str | None = "agent-7",
    reason: str | None = "goodwill",
) -> MemberEvent:
    return member_event(
        MemberEventType.POINTS_ADJUSTED,
        event_id,
        when,
        points=points,
        actor=actor,
        reason=reason,
        counts_toward_qualifying=qualifying,
    )


def redeemed(event_id: str, points: int, when: str) -> MemberEvent:
    return member_event(
        MemberEventType.POINTS_REDEEMED, event_id, when, points=points, reward_id="R-1"
    )


def tick(day: str) -> ReviewTick:
    return ReviewTick(date.fromisoformat(day))


class Run:
    """Applies events one after another, keeping the state and every output."""

    def __init__(self, prog: Program, state: MemberState | None = None) -> None:
        self.program = prog
        self.state = state
        self.outputs: list[Outputs] = []

    def __call__(self, *events: Receipt | MemberEvent | ReviewTick) -> Outputs:
        gathered = Outputs()
        for event in events:
            self.state, out = apply(self.state, event, self.program)
            self.outputs.append(out)
            gathered.extend(out)
        return gathered

    @property
    def member(self) -> MemberState:
        assert self.state is not None
        return self.state

    @property
    def ledger(self) -> list[LedgerEntry]:
        return [entry for out in self.outputs for entry in out.ledger]


def silver_with(qualifying: int, when: str = "2025-01-02T10:00", **fields: object) -> Run:
    """A member enrolled with an email, made Silver by a qualifying adjustment."""
    run = Run(program(**fields))
    run(
        enrolled("e-enrol", "2025-01-01T09:00"),
        adjusted("e-start", qualifying, when, qualifying=True),
    )
    return run
