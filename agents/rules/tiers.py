"""Tiers: which one qualifying points support, the next one, and how a rate reads."""

from __future__ import annotations

from bisect import bisect_right

from agents.rules.points import multiplier_text
from agents.rules.program import ProgramVersion, Tier


def tier_index(version: ProgramVersion, name: str) -> int | None:
    """The tier's position in the version, None if the version lacks it."""
    return version.positions.get(name)


def supported_tier_index(version: ProgramVersion, qualifying_points: int) -> int:
    """The highest tier whose threshold is met (inclusive: 25,000 QP reach a 25,000 tier)."""
    thresholds = version.thresholds
    if version.thresholds_increase:  # as a loaded program's always do: a binary search
        return max(0, bisect_right(thresholds, qualifying_points) - 1)
    supported = 0
    for index, threshold in enumerate(thresholds):
        if threshold <= qualifying_points:
            supported = index
    return supported


def current_tier(version: ProgramVersion, name: str) -> Tier:
    """The member's tier as this version defines it; a tier the version lacks earns as the first."""
    index = tier_index(version, name)
    return version.tiers[0 if index is None else index]


def next_tier(version: ProgramVersion, name: str) -> Tier | None:
    index = tier_index(version, name)
    position = 0 if index is None else index + 1
    return version.tiers[position] if position < len(version.tiers) else None


def points_to_next_tier(version: ProgramVersion, name: str, qualifying_points: int) -> int:
    """The next tier's threshold minus qualifying points; 0 at the top tier."""
    return points_to(next_tier(version, name), qualifying_points)


def points_to(upper: Tier | None, qualifying_points: int) -> int:
    """`points_to_next_tier` with the next tier (None: at the top) at hand."""
    return 0 if upper is None else max(0, upper.threshold - qualifying_points)


# Labels by tier identity (a program has a handful of tiers); each entry holds its tier, so
# the id cannot be reused while the entry lives.
_LABELS: dict[int, tuple[Tier, str]] = {}
_LABELS_LIMIT = 1024


def rate_label(tier: Tier) -> str:
    """`Gold (x2)`: the tier and multiplier a ledger entry was earned at."""
    known = _LABELS.get(id(tier))
    if known is not None and known[0] is tier:
        return known[1]
    label = f"{tier.name} (x{multiplier_text(tier.multiplier)})"
    if len(_LABELS) >= _LABELS_LIMIT:
        _LABELS.clear()
    _LABELS[id(tier)] = (tier, label)
    return label
