"""The program file (TOML, keys as in rules.md) -> the core's frozen `Program`, or every error.

pydantic checks the shape (unknown keys refused, types, ranges); `_rule_errors` checks what
spans fields (tier order, campaign tiers, version dates). Each error names its field, e.g.
`tiers[2].threshold: must be greater than tiers[1] (25000)`. See docs/program.md.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from agents.rules.program import (
    DEFAULT_TIER_DOWN,
    DEFAULT_TIER_UP,
    Campaign,
    DowngradePolicy,
    Program,
    ProgramVersion,
    QualifyingBasis,
    Template,
    Templates,
    Tier,
)
from schemas.checks import ISO_4217

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PLACEHOLDERS = frozenset(
    {
        "name",
        "from_tier",
        "to_tier",
        "qualifying_points",
        "next_tier",
        "points_to_next_tier",
        "balance",
        "points",
        "expires_on",
    }
)
# The sections a dated version may replace, whole.
VERSIONED = (
    "earn",
    "qualifying",
    "tiers",
    "downgrade",
    "campaigns",
    "expiry",
    "returns",
    "auto_enroll",
    "notifications",
)


class ProgramError(Exception):
    """A program file that cannot be used; `errors` lists (field path, reason)."""

    code = "invalid_program"

    def __init__(self, errors: list[tuple[str, str]], source: str = "program") -> None:
        self.errors = errors
        self.source = source
        lines = "\n".join(f"  {field}: {reason}" for field, reason in errors)
        super().__init__(f"{source}: {len(errors)} error(s)\n{lines}")


def _local_datetime(value: Any) -> Any:
    """Campaign and version times are local to the program timezone: no offset allowed."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO datetime like 2025-01-01T00:00:00") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, datetime) and value.tzinfo is not None:
        raise ValueError("must be a local datetime without offset (the program's timezone)")
    return value


LocalDateTime = Annotated[datetime, BeforeValidator(_local_datetime)]
Name = Annotated[str, Field(min_length=1, max_length=128)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Earn(_Section):
    points_per_unit: Decimal = Field(default=Decimal(1), ge=0)
    excluded_categories: list[Name] = []


class Qualifying(_Section):
    basis: QualifyingBasis = QualifyingBasis.BASE
    window_months: int = Field(default=12, ge=1, le=120)


class TierSpec(_Section):
    name: Name
    threshold: int = Field(ge=0)
    multiplier: Decimal = Field(default=Decimal(1), ge=0)
    entry_bonus: int = Field(default=0, ge=0)


class Downgrade(_Section):
    policy: DowngradePolicy = DowngradePolicy.RECALCULATE
    hold_months: int = Field(default=0, ge=0, le=120)


class CampaignSpec(_Section):
    id: Name
    name: Name
    starts: LocalDateTime
    ends: LocalDateTime
    tiers: list[Name] = []
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = []
    categories: list[Name] = []
    skus: list[Name] = []
    bonus_multiplier: Decimal | None = Field(default=None, gt=0)
    bonus_points: int | None = Field(default=None, gt=0)
    min_spend: Decimal = Field(default=Decimal(0), ge=0)
    max_bonus_per_member: int | None = Field(default=None, ge=0)


class Expiry(_Section):
    months: int | None = Field(default=None, ge=1, le=600)


class Returns(_Section):
    match_days: int = Field(default=7, ge=0, le=365)


class TemplateSpec(_Section):
    """A notification's texts. A channel left out gets the built-in text (tier changes);
    an empty text turns that channel off (`sms_body = ""`: no SMS)."""

    email_subject: str | None = None
    email_body: str | None = None
    sms_body: str | None = None


class Notifications(_Section):
    tier_up: TemplateSpec = TemplateSpec()
    tier_down: TemplateSpec = TemplateSpec()
    points_expiring: TemplateSpec | None = None
    expiry_reminder_days: int | None = Field(default=None, ge=1, le=365)


class VersionSpec(_Section):
    effective_from: LocalDateTime
    earn: Earn | None = None
    qualifying: Qualifying | None = None
    tiers: list[TierSpec] | None = None
    downgrade: Downgrade | None = None
    campaigns: list[CampaignSpec] | None = None
    expiry: Expiry | None = None
    returns: Returns | None = None
    auto_enroll: bool | None = None
    notifications: Notifications | None = None


class ProgramFile(_Section):
    name: Name
    currency: str
    timezone: str
    earn: Earn = Earn()
    qualifying: Qualifying = Qualifying()
    tiers: list[TierSpec] = Field(min_length=1)
    downgrade: Downgrade = Downgrade()
    campaigns: list[CampaignSpec] = []
    expiry: Expiry = Expiry()
    returns: Returns = Returns()
    auto_enroll: bool = True
    notifications: Notifications = Notifications()
    versions: list[VersionSpec] = []


# ---- errors with field paths ----------------------------------------------------------------


def field_path(loc: Iterable[int | str]) -> str:
    """('tiers', 2, 'threshold') -> 'tiers[2].threshold'."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(file)"


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    elif get_origin(annotation) in (list, Union, UnionType, Annotated):
        for arg in get_args(annotation):
            yield from _models_in(arg)


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys allowed where an unknown key was found (loc ends with the unknown key)."""
    model: type[BaseModel] = ProgramFile
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        inner = next(_models_in(field.annotation), None) if field else None
        if inner is None:
            return []
        model = inner
    return list(model.model_fields)


def _shape_errors(error: ValidationError) -> list[tuple[str, str]]:
    found = []
    for detail in error.errors():
        loc = tuple(detail["loc"])
        if detail["type"] == "extra_forbidden":
            allowed = ", ".join(_allowed_keys(loc))
            found.append((field_path(loc), f"unknown key (allowed here: {allowed})"))
        elif detail["type"] == "missing":
            found.append((field_path(loc), "required"))
        else:
            message = str(detail["msg"]).removeprefix("Value error, ")
            found.append((field_path(loc), message))
    return found


# ---- rules that span fields ---------------------------------------------------------------


def _tier_errors(tiers: list[TierSpec], at: str) -> Iterator[tuple[str, str]]:
    if tiers and tiers[0].threshold != 0:
        yield f"{at}tiers[0].threshold", "the first tier's threshold must be 0"
    seen: dict[str, int] = {}
    for index, tier in enumerate(tiers):
        if tier.name in seen:
            yield f"{at}tiers[{index}].name", f"{tier.name!r} is already tiers[{seen[tier.name]}]"
        seen.setdefault(tier.name, index)
        if index and tier.threshold <= tiers[index - 1].threshold:
            yield (
                f"{at}tiers[{index}].threshold",
                f"must be greater than tiers[{index - 1}] ({tiers[index - 1].threshold})",
            )


def _campaign_errors(
    campaigns: list[CampaignSpec], tier_names: list[str], at: str, tiers_at: str
) -> Iterator[tuple[str, str]]:
    ids: dict[str, int] = {}
    for index, campaign in enumerate(campaigns):
        path = f"{at}campaigns[{index}]"
        if campaign.id in ids:
            yield f"{path}.id", f"{campaign.id!r} is already campaigns[{ids[campaign.id]}]"
        ids.setdefault(campaign.id, index)
        if campaign.starts >= campaign.ends:
            yield f"{path}.ends", f"must be after starts ({campaign.starts.isoformat()})"
        if (campaign.bonus_multiplier is None) == (campaign.bonus_points is None):
            yield path, "give exactly one of bonus_multiplier or bonus_points"
        for name in campaign.tiers:
            if name not in tier_names:
                where = f" of {tiers_at}tiers" if tiers_at else ""
                yield (
                    f"{path}.tiers",
                    f"{name!r} is not a tier{where} ({', '.join(tier_names)})",
                )


def _template_errors(notifications: Notifications, at: str) -> Iterator[tuple[str, str]]:
    formatter = string.Formatter()
    for section in ("tier_up", "tier_down", "points_expiring"):
        template = getattr(notifications, section)
        if template is None:
            continue
        for key in ("email_subject", "email_body", "sms_body"):
            path = f"{at}notifications.{section}.{key}"
            try:
                text = getattr(template, key) or ""
                names = [field for _, field, _, _ in formatter.parse(text)]
            except ValueError as bad:
                yield path, f"bad template: {bad} (write {{{{ and }}}} for literal braces)"
                continue
            for name in names:
                if name is not None and name not in PLACEHOLDERS:
                    known = " ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
                    yield path, f"unknown placeholder {{{name}}} (known: {known})"


def _section_errors(sections: dict[str, Any], sources: dict[str, str]) -> Iterator[tuple[str, str]]:
    """Checks of one version's sections; `sources` maps a section to its path prefix."""
    tiers: list[TierSpec] = sections["tiers"]
    yield from _tier_errors(tiers, sources["tiers"])
    tiers_at = sources["tiers"] if sources["tiers"] != sources["campaigns"] else ""
    yield from _campaign_errors(
        sections["campaigns"], [tier.name for tier in tiers], sources["campaigns"], tiers_at
    )
    yield from _template_errors(sections["notifications"], sources["notifications"])


def _place_errors(document: dict[str, Any]) -> list[tuple[str, str]]:
    """Currency and timezone, checked even when the rest of the file has shape errors."""
    found: list[tuple[str, str]] = []
    currency, timezone = document.get("currency"), document.get("timezone")
    if isinstance(currency, str) and currency not in ISO_4217:
        found.append(("currency", f"{currency!r} is not an ISO 4217 currency code"))
    if isinstance(timezone, str):
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            found.append(("timezone", f"{timezone!r} is not an IANA timezone (e.g. Europe/Paris)"))
    return found


def _rule_errors(spec: ProgramFile) -> list[tuple[str, str]]:
    found = _place_errors({"currency": spec.currency, "timezone": spec.timezone})
    for index in range(1, len(spec.versions)):
        previous = spec.versions[index - 1].effective_from
        if spec.versions[index].effective_from <= previous:
            found.append(
                (
                    f"versions[{index}].effective_from",
                    f"must be later than versions[{index - 1}] ({previous.isoformat()})",
                )
            )
    for _, sections, sources in _versions(spec):
        for error in _section_errors(sections, sources):
            if error not in found:
                found.append(error)
    return found


def _versions(spec: ProgramFile) -> Iterator[tuple[int, dict[str, Any], dict[str, str]]]:
    """(0 for the base, then i + 1 for versions[i]); each version inherits what it omits."""
    sections = {name: getattr(spec, name) for name in VERSIONED}
    sources = dict.fromkeys(VERSIONED, "")
    yield 0, dict(sections), dict(sources)
    for index, version in enumerate(spec.versions):
        for name in VERSIONED:
            value = getattr(version, name)
            if value is not None:
                sections[name] = value
                sources[name] = f"versions[{index}]."
        yield index + 1, dict(sections), dict(sources)


# ---- to the core's dataclasses --------------------------------------------------------------


_NO_TEXTS = Template()


def _template(spec: TemplateSpec, default: Template = _NO_TEXTS) -> Template:
    """The texts given, and `default`'s for a channel the spec leaves out."""
    email_given = spec.email_subject is not None or spec.email_body is not None
    return Template(
        email_subject=(spec.email_subject or "") if email_given else default.email_subject,
        email_body=(spec.email_body or "") if email_given else default.email_body,
        sms_body=default.sms_body if spec.sms_body is None else spec.sms_body,
    )


def _campaign(spec: CampaignSpec) -> Campaign:
    return Campaign(
        id=spec.id,
        name=spec.name,
        starts=spec.starts,
        ends=spec.ends,
        tiers=tuple(spec.tiers),
        weekdays=tuple(sorted({WEEKDAYS.index(day) for day in spec.weekdays})),
        categories=tuple(spec.categories),
        skus=tuple(spec.skus),
        bonus_multiplier=spec.bonus_multiplier,
        bonus_points=spec.bonus_points,
        min_spend=spec.min_spend,
        max_bonus_per_member=spec.max_bonus_per_member,
    )


def _version(sections: dict[str, Any], effective_from: datetime | None) -> ProgramVersion:
    earn: Earn = sections["earn"]
    notifications: Notifications = sections["notifications"]
    return ProgramVersion(
        tiers=tuple(
            Tier(tier.name, tier.threshold, tier.multiplier, tier.entry_bonus)
            for tier in sections["tiers"]
        ),
        effective_from=effective_from,
        points_per_unit=earn.points_per_unit,
        excluded_categories=frozenset(earn.excluded_categories),
        qualifying_basis=sections["qualifying"].basis,
        window_months=sections["qualifying"].window_months,
        downgrade_policy=sections["downgrade"].policy,
        hold_months=sections["downgrade"].hold_months,
        campaigns=tuple(_campaign(campaign) for campaign in sections["campaigns"]),
        expiry_months=sections["expiry"].months,
        returns_match_days=sections["returns"].match_days,
        auto_enroll=sections["auto_enroll"],
        templates=Templates(
            tier_up=_template(notifications.tier_up, DEFAULT_TIER_UP),
            tier_down=_template(notifications.tier_down, DEFAULT_TIER_DOWN),
            points_expiring=(
                _template(notifications.points_expiring)
                if notifications.points_expiring is not None
                else None
            ),
            expiry_reminder_days=notifications.expiry_reminder_days,
        ),
    )


def parse_program(document: dict[str, Any], source: str = "program") -> Program:
    """A parsed TOML document -> `Program`; raises `ProgramError` naming every bad field."""
    try:
        spec = ProgramFile.model_validate(document)
    except ValidationError as invalid:
        errors = _shape_errors(invalid)
        errors += [error for error in _place_errors(document) if error not in errors]
        raise ProgramError(errors, source) from None
    errors = _rule_errors(spec)
    if errors:
        raise ProgramError(errors, source)
    versions = [
        _version(sections, None if index == 0 else spec.versions[index - 1].effective_from)
        for index, sections, _ in _versions(spec)
    ]
    return Program(spec.name, spec.currency, spec.timezone, tuple(versions))


def parse_program_text(text: str, source: str = "program") -> Program:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as bad:
        raise ProgramError([("(file)", f"not valid TOML: {bad}")], source) from None
    return parse_program(document, source)


def load_program(path: Path | str) -> Program:
    """Read and check a program file; raises `ProgramError` (with every error) if it is bad."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as missing:
        raise ProgramError([("(file)", f"cannot read: {missing.strerror}")], str(path)) from None
    except UnicodeDecodeError:
        raise ProgramError([("(file)", "is not UTF-8 text")], str(path)) from None
    return parse_program_text(text, str(path))
