"""Campaigns: when one applies to a receipt, which lines match, and the bonus it gives."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from agents.rules.events import LineItem
from agents.rules.points import floor_points, round_half_up
from agents.rules.program import Campaign, ProgramVersion
from agents.rules.state import MemberState

_ZERO = Decimal(0)


def campaign_is_on(campaign: Campaign, tier_before: str, local: datetime) -> bool:
    """Targets the tier the member had before the receipt, at the receipt's local time."""
    if campaign.tiers and tier_before not in campaign.tiers:
        return False
    if not campaign.starts <= local < campaign.ends:
        return False
    return not campaign.weekdays or local.weekday() in campaign.weekdays


def line_matches(campaign: Campaign, line: LineItem) -> bool:
    """With both categories and skus listed, a line in either list matches (a union)."""
    if not campaign.categories and not campaign.skus:
        return True
    return line.category in campaign.categories or line.sku in campaign.skus


def matching_amount(campaign: Campaign, eligible_lines: Iterable[LineItem]) -> Decimal:
    if not campaign.categories and not campaign.skus:
        return sum([line.amount for line in eligible_lines], _ZERO)  # every line matches
    return sum([line.amount for line in eligible_lines if line_matches(campaign, line)], _ZERO)


def campaign_bonus(campaign: Campaign, matching: Decimal, points_per_unit: Decimal) -> int:
    """The uncapped bonus; `min_spend` is measured on the matching eligible amount."""
    if matching <= 0 or matching < campaign.min_spend:
        return 0
    if campaign.bonus_multiplier is not None:
        return round_half_up(floor_points(matching * points_per_unit) * campaign.bonus_multiplier)
    return campaign.bonus_points or 0


def campaign_bonuses(
    state: MemberState,
    version: ProgramVersion,
    tier_before: str,
    local: datetime,
    eligible_lines: tuple[LineItem, ...],
    eligible: Decimal,
) -> list[tuple[Campaign, int]]:
    """Each campaign's bonus for this receipt, after the member's cap; zero bonuses left out.

    `eligible` is the receipt's eligible amount: what a campaign of every line matches (a sum
    below zero, counted as zero there, gives no bonus either way).
    """
    bonuses: list[tuple[Campaign, int]] = []
    for campaign in version.campaigns:
        if not campaign_is_on(campaign, tier_before, local):
            continue
        every_line = not campaign.categories and not campaign.skus
        matching = eligible if every_line else matching_amount(campaign, eligible_lines)
        points = campaign_bonus(campaign, matching, version.points_per_unit)
        if campaign.max_bonus_per_member is not None:
            room = campaign.max_bonus_per_member - state.campaign_bonus.get(campaign.id, 0)
            points = min(points, max(0, room))
        if points > 0:
            bonuses.append((campaign, points))
    return bonuses
