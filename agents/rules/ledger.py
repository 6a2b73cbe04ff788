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
    # Positional, in LedgerEntry's field order: a keyword call of its 15 fields costs half as
    # much again, and this runs for every entry.
    entry = LedgerEntry(
        entry_id,
        state.member_id,
        occurred_at,
        kind,
        points,
        qualifying_points,
        state.balance,  # balance_after
        tier,
        multiplier,
        receipt_id,
        event_id,
        campaign_id,
        description,
        actor,
        reason,
    )
    out.ledger.append(entry)
    return entry
