"""What-if: one history under two programs, side by side, before anyone changes the rules."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rich.table import Table

from agents.rules.outputs import LedgerKind
from streams.offline.replay import Replay

_ISSUED = frozenset(
    kind.value for kind in (LedgerKind.EARN, LedgerKind.CAMPAIGN_BONUS, LedgerKind.TIER_BONUS)
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One program's result over the history."""

    tiers: tuple[str, ...]  # the program's tiers, lowest first
    distribution: Counter[str]
    points_issued: int  # earned, campaign and tier bonuses
    points_redeemed: int
    points_expired: int
    liability: int  # outstanding points: the sum of positive balances
    tier_of: dict[str, str]


@dataclass(frozen=True, slots=True)
class Comparison:
    current: Outcome
    proposed: Outcome
    moved_up: int
    moved_down: int
    unchanged: int


def outcome(replay: Replay) -> Outcome:
    tiers = tuple(tier.name for tier in replay.program.versions[-1].tiers)
    views = list(replay.views())
    ledger = replay.decoded("ledger")
    return Outcome(
        tiers=tiers,
        distribution=Counter(view.tier for view in views),
        points_issued=sum(e["points"] for e in ledger if e["kind"] in _ISSUED),
        points_redeemed=-sum(e["points"] for e in ledger if e["kind"] == LedgerKind.REDEEM.value),
        points_expired=-sum(e["points"] for e in ledger if e["kind"] == LedgerKind.EXPIRE.value),
        liability=sum(max(view.balance, 0) for view in views),
        tier_of={view.member_id: view.tier for view in views},
    )


def _rank(tiers: tuple[str, ...], name: str) -> int:
    return tiers.index(name) if name in tiers else -1


def compare(current: Replay, proposed: Replay) -> Comparison:
    """Members move up or down by their tier's rank in each program's own tier list."""
    before, after = outcome(current), outcome(proposed)
    up = down = same = 0
    for member_id, tier in before.tier_of.items():
        new_tier = after.tier_of.get(member_id)
        if new_tier is None:
            continue
        delta = _rank(after.tiers, new_tier) - _rank(before.tiers, tier)
        if delta > 0:
            up += 1
        elif delta < 0:
            down += 1
        else:
            same += 1
    return Comparison(before, after, up, down, same)


def _change(old: int, new: int) -> str:
    if old == 0:
        return "" if new == 0 else "new"
    return f"{(new - old) / old:+.1%}"


def render(comparison: Comparison, current_name: str, proposed_name: str) -> Table:
    current, proposed = comparison.current, comparison.proposed
    table = Table(title="What if: the same history under two programs")
    table.add_column("")
    table.add_column(f"current ({current_name})", justify="right")
    table.add_column(f"proposed ({proposed_name})", justify="right")
    table.add_column("change", justify="right")
    names = list(current.tiers) + [t for t in proposed.tiers if t not in current.tiers]
    for name in names:
        old, new = current.distribution[name], proposed.distribution[name]
        table.add_row(f"members in {name}", f"{old:,}", f"{new:,}", _change(old, new))
    for label, old, new in (
        ("points issued", current.points_issued, proposed.points_issued),
        ("points redeemed", current.points_redeemed, proposed.points_redeemed),
        ("points expired", current.points_expired, proposed.points_expired),
        ("outstanding liability (points)", current.liability, proposed.liability),
    ):
        table.add_row(label, f"{old:,}", f"{new:,}", _change(old, new))
    table.add_section()
    table.add_row("members who would move up", "", f"{comparison.moved_up:,}", "")
    table.add_row("members who would move down", "", f"{comparison.moved_down:,}", "")
    table.add_row("members whose tier stays", "", f"{comparison.unchanged:,}", "")
    return table
