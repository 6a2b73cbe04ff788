"""The loyalty program as the rules see it: tiers, earning, window, campaigns, versions.

Frozen dataclasses built by the program-file loader (`streams/program.py`), which validates
the TOML with pydantic and names the field of every error. Nothing here reads files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Final
from zoneinfo import ZoneInfo


class QualifyingBasis(StrEnum):
    BASE = "base"  # base points of sales, before any multiplier or bonus
    EARNED = "earned"  # all points earned from sales (multiplied + campaign bonuses)
    SPEND = "spend"  # eligible spend, floored to whole currency units
    VISITS = "visits"  # one per sale receipt


class DowngradePolicy(StrEnum):
    RECALCULATE = "recalculate"
    ONE_DOWN = "one_down"


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    threshold: int
    multiplier: Decimal
    entry_bonus: int = 0


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    name: str
    starts: datetime  # naive, local to the program timezone
    ends: datetime  # naive, local; exclusive
    tiers: tuple[str, ...] = ()  # empty = all tiers
    weekdays: tuple[int, ...] = ()  # 0 = Monday .. 6 = Sunday; empty = every day
    categories: tuple[str, ...] = ()  # empty = all categories
    skus: tuple[str, ...] = ()  # empty = all lines
    bonus_multiplier: Decimal | None = None
    bonus_points: int | None = None
    min_spend: Decimal = Decimal(0)
    max_bonus_per_member: int | None = None


@dataclass(frozen=True, slots=True)
class Template:
    email_subject: str = ""
    email_body: str = ""
    sms_body: str = ""


# The built-in texts of a tier change, per channel, where the program gives none (rules:
# every tier change notifies, by the member's contacts and consents).
DEFAULT_TIER_UP: Final = Template(
    email_subject="Welcome to {to_tier}, {name}",
    email_body="Hi {name},\n\nYou have moved up from {from_tier} to {to_tier} with "
    "{qualifying_points} qualifying points. Your balance is {balance} points.\n",
    sms_body="You are now {to_tier}! Balance {balance} points.",
)
DEFAULT_TIER_DOWN: Final = Template(
    email_subject="Your tier is now {to_tier}",
    email_body="Hi {name},\n\nYour tier changed from {from_tier} to {to_tier} "
    "({qualifying_points} qualifying points in the window). Your balance of {balance} points "
    "is unchanged.\n",
    sms_body="Your tier is now {to_tier}. Balance {balance} points.",
)


@dataclass(frozen=True, slots=True)
class Templates:
    """Notification texts; placeholders: {name} {from_tier} {to_tier} {qualifying_points}
    {next_tier} {points_to_next_tier} {balance} {points} {expires_on}. A tier change has
    built-in texts (`DEFAULT_TIER_UP`, `DEFAULT_TIER_DOWN`); the expiry reminder has none."""

    tier_up: Template = DEFAULT_TIER_UP
    tier_down: Template = DEFAULT_TIER_DOWN
    points_expiring: Template | None = None
    expiry_reminder_days: int | None = None


def defaults_in_force(templates: Templates) -> list[str]:
    """Which built-in texts these templates use, as `tier_up email`, `tier_down sms`, ..."""
    in_force = []
    for name, used, default in (
        ("tier_up", templates.tier_up, DEFAULT_TIER_UP),
        ("tier_down", templates.tier_down, DEFAULT_TIER_DOWN),
    ):
        if (used.email_subject, used.email_body) == (default.email_subject, default.email_body):
            in_force.append(f"{name} email")
        if used.sms_body == default.sms_body:
            in_force.append(f"{name} sms")
    return in_force


@dataclass(frozen=True, slots=True)
class ProgramVersion:
    """The rules in force from `effective_from` (naive local datetime; None = always)."""

    tiers: tuple[Tier, ...]
    effective_from: datetime | None = None
    points_per_unit: Decimal = Decimal(1)
    excluded_categories: frozenset[str] = frozenset()
    qualifying_basis: QualifyingBasis = QualifyingBasis.BASE
    window_months: int = 12
    downgrade_policy: DowngradePolicy = DowngradePolicy.RECALCULATE
    hold_months: int = 0
    campaigns: tuple[Campaign, ...] = ()
    expiry_months: int | None = None
    returns_match_days: int = 7
    auto_enroll: bool = True
    templates: Templates = Templates()
    # Derived from `tiers`, for `agents.rules.tiers`: name -> position (the first of a
    # repeated name), the thresholds, and whether they strictly increase (a loaded program's
    # always do).
    positions: dict[str, int] = field(init=False, repr=False, compare=False)
    thresholds: tuple[int, ...] = field(init=False, repr=False, compare=False)
    thresholds_increase: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        positions: dict[str, int] = {}
        for index, tier in enumerate(self.tiers):
            positions.setdefault(tier.name, index)
        thresholds = tuple(tier.threshold for tier in self.tiers)
        object.__setattr__(self, "positions", positions)
        object.__setattr__(self, "thresholds", thresholds)
        object.__setattr__(self, "thresholds_increase", all(a < b for a, b in pairwise(thresholds)))


@dataclass(frozen=True, slots=True)
class Program:
    name: str
    currency: str
    timezone: str
    versions: tuple[ProgramVersion, ...]  # sorted by effective_from, the first one None
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", ZoneInfo(self.timezone))

    def version_at(self, local: datetime) -> ProgramVersion:
        """The version in force at a naive local datetime."""
        current = self.versions[0]
        if len(self.versions) == 1:
            return current  # the usual program
        for version in self.versions[1:]:
            if version.effective_from is not None and version.effective_from <= local:
                current = version
            else:
                break
        return current

    def local(self, moment: datetime) -> datetime:
        """A timezone-aware moment as a naive local datetime of the program timezone."""
        local = moment.astimezone(self.zone)
        # combine, not replace(tzinfo=None): the same naive moment (fold kept), at a sixth of
        # the cost; this runs for every event.
        return datetime.combine(local.date(), local.time())
