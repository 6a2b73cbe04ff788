"""Notifications: a tier change rendered from the program's templates, per channel and consent."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from agents.rules.outputs import Channel, Direction, Notification, TierChange
from agents.rules.points import grouped
from agents.rules.program import ProgramVersion, Template
from agents.rules.state import MemberState, MemberStatus
from agents.rules.tiers import next_tier, points_to_next_tier

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(\w+)\}")
_BRACES = {"{{": "{", "}}": "}"}


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill `{name}`-style placeholders (`{{` and `}}` are literal braces, as in the program
    file); anything unknown or malformed is left as written.

    Deliberately not `str.format`: a template comes from a config file and must neither crash
    on a stray brace nor reach attributes (`{name.__class__}`).
    """

    def fill(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole in _BRACES:
            return _BRACES[whole]
        return values.get(match.group(1), whole)

    return _PLACEHOLDER.sub(fill, template)


def tier_change_notifications(
    state: MemberState, change: TierChange, version: ProgramVersion, points: int = 0
) -> list[Notification]:
    """EMAIL if the member has an email and consented, SMS likewise; none when not active."""
    if state.status is not MemberStatus.ACTIVE:
        return []
    up = change.direction is Direction.UP
    template = version.templates.tier_up if up else version.templates.tier_down
    name = "tier_up" if up else "tier_down"
    upper = next_tier(version, change.to_tier)
    values = {
        "name": state.name or "member",
        "from_tier": change.from_tier,
        "to_tier": change.to_tier,
        "qualifying_points": grouped(change.qualifying_points),
        "next_tier": upper.name if upper else "",
        "points_to_next_tier": grouped(
            points_to_next_tier(version, change.to_tier, change.qualifying_points)
        ),
        "balance": grouped(state.balance),
        "points": grouped(points),
        "expires_on": "",
    }
    return _notifications(state, template, name, values, change.event_id, change.effective_at)


def expiry_reminders(
    state: MemberState, version: ProgramVersion, day: date, at: datetime, source: str
) -> list[Notification]:
    """`points_expiring` for each lot expiring `expiry_reminder_days` after `day`."""
    template = version.templates.points_expiring
    days = version.templates.expiry_reminder_days
    if template is None or not days or state.status is not MemberStatus.ACTIVE:
        return []
    notifications: list[Notification] = []
    for expires_on, points in sorted(state.lots.items()):
        if expires_on - timedelta(days=days) != day:
            continue
        values = {
            "name": state.name or "member",
            "balance": grouped(state.balance),
            "points": grouped(points),
            "expires_on": expires_on.isoformat(),
        }
        notifications.extend(
            _notifications(
                state,
                template,
                "points_expiring",
                values,
                f"{source}:REMINDER:{expires_on.isoformat()}",
                at,
            )
        )
    return notifications


def _notifications(
    state: MemberState,
    template: Template,
    name: str,
    values: Mapping[str, str],
    source: str,
    at: datetime,
) -> list[Notification]:
    notifications: list[Notification] = []
    if state.email and state.consent_email and (template.email_body or template.email_subject):
        notifications.append(
            Notification(
                notification_id=f"{source}:{Channel.EMAIL.value}",
                member_id=state.member_id,
                channel=Channel.EMAIL,
                template=name,
                recipient=state.email,
                subject=render(template.email_subject, values),
                body=render(template.email_body, values),
                created_at=at,
            )
        )
    if state.phone and state.consent_sms and template.sms_body:
        notifications.append(
            Notification(
                notification_id=f"{source}:{Channel.SMS.value}",
                member_id=state.member_id,
                channel=Channel.SMS,
                template=name,
                recipient=state.phone,
                subject="",
                body=render(template.sms_body, values),
                created_at=at,
            )
        )
    return notifications
