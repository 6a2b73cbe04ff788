"""Notifications: a tier change rendered from the program's templates, per channel and consent."""

from __future__ import annotations

import re
from collections.abc import Mapping

from agents.rules.outputs import Channel, Direction, Notification, TierChange
from agents.rules.points import grouped
from agents.rules.program import ProgramVersion
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
    notifications: list[Notification] = []
    if state.email and state.consent_email and (template.email_body or template.email_subject):
        notifications.append(
            Notification(
                notification_id=f"{change.event_id}:{Channel.EMAIL.value}",
                member_id=state.member_id,
                channel=Channel.EMAIL,
                template=name,
                recipient=state.email,
                subject=render(template.email_subject, values),
                body=render(template.email_body, values),
                created_at=change.effective_at,
            )
        )
    if state.phone and state.consent_sms and template.sms_body:
        notifications.append(
            Notification(
                notification_id=f"{change.event_id}:{Channel.SMS.value}",
                member_id=state.member_id,
                channel=Channel.SMS,
                template=name,
                recipient=state.phone,
                subject="",
                body=render(template.sms_body, values),
                created_at=change.effective_at,
            )
        )
    return notifications
