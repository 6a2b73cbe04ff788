"""Posting to the ledger: every movement of points is one entry, and the balance follows it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from agents.rules.outputs import LedgerEntry, LedgerKind, Outputs
from agents.rules.state import MemberState


def post(
    state: MemberState,
    out: Outputs,
    *,
    entry_id: str,
    occurred_at: datetime,
    kind: LedgerKind,
    points: int,
    tier: str,
    multiplier: Decimal,
    qualifying_points: int = 0,
    receipt_id: str | None = None,
    event_id: str | None = None,
    campaign_id: str | None = None,
    description: str = "",
    actor: str | None = None,
    reason: str | None = None,
) -> LedgerEntry:
    state.balance += points
    entry = LedgerEntry(
        entry_id=entry_id,
        member_id=state.member_id,
        occurred_at=occurred_at,
        kind=kind,
        points=points,
        qualifying_points=qualifying_points,
        balance_after=state.balance,
        tier=tier,
        multiplier=multiplier,
        receipt_id=receipt_id,
        event_id=event_id,
        campaign_id=campaign_id,
        description=description,
        actor=actor,
        reason=reason,
    )
    out.ledger.append(entry)
    return entry
