"""Point lots for expiry: points earned together expire together; spending takes the soonest.

Only expiring points are kept as lots (by expiry date); the rest of a positive balance never
expires. Invariant: the lots never hold more than the positive part of the balance, so a
member in debt has no lots and new earnings pay the debt before they form a lot.
"""

from __future__ import annotations

from datetime import date

from agents.rules.state import MemberState


def credit_lot(state: MemberState, points: int, expires_on: date | None) -> None:
    """Call after the points were added to the balance."""
    if expires_on is None or points <= 0:
        return
    fresh = min(points, max(0, state.balance))
    if fresh > 0:
        state.lots[expires_on] = state.lots.get(expires_on, 0) + fresh


def spend_lots(state: MemberState, points: int, first: date | None = None) -> None:
    """Take `points` from the lots, `first` (a returned sale's own lot) then soonest first."""
    if points <= 0 or not state.lots:
        return
    order = sorted(state.lots)
    if first is not None and first in state.lots:
        order.remove(first)
        order.insert(0, first)
    left = points
    for expires_on in order:
        if left == 0:
            break
        available = state.lots[expires_on]
        taken = min(left, available)
        left -= taken
        if taken == available:
            del state.lots[expires_on]
        else:
            state.lots[expires_on] = available - taken


def expiring_lots(state: MemberState, day: date) -> list[tuple[date, int]]:
    """Lots whose expiry date has come by `day`, soonest first."""
    return sorted((on, points) for on, points in state.lots.items() if on <= day)
