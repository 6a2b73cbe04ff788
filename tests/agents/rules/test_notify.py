"""Notifications: per channel and consent, rendered safely from the program's templates."""

from __future__ import annotations

from agents.rules import Channel, Template, Templates
from agents.rules.notify import render

from .builders import Run, enrolled, program, sale, tick


def test_render_leaves_unknown_and_malformed_placeholders_alone() -> None:
    values = {"name": "Ana"}
    assert render("Hi {name}, {unknown} {0} {name.__class__} { {", values) == (
        "Hi Ana, {unknown} {0} {name.__class__} { {"
    )


def test_render_reads_doubled_braces_as_literal_braces() -> None:
    assert render("{{name}} is {name} {{{name}}}", {"name": "Ana"}) == "{name} is Ana {Ana}"


def test_email_and_sms_follow_contacts_and_consent() -> None:
    run = Run(program())
    run(enrolled("e1", "2025-01-01T09:00", consent_sms=True))
    out = run(sale("r1", "10000.00", "2025-01-05T12:00"))
    by_channel = {n.channel: n for n in out.notifications}
    assert set(by_channel) == {Channel.EMAIL, Channel.SMS}
    email = by_channel[Channel.EMAIL]
    assert (email.recipient, email.subject) == ("ana@example.com", "Welcome to Silver")
    assert email.body == "Hi Ana, you moved from Member to Silver with 10,000."
    assert by_channel[Channel.SMS].recipient == "+15550100"
    assert by_channel[Channel.SMS].body == "Ana: you are Silver now"


def test_no_consent_no_notification() -> None:
    run = Run(program())
    run(enrolled("e1", "2025-01-01T09:00", consent_email=False))
    assert run(sale("r1", "10000.00", "2025-01-05T12:00")).notifications == []


def test_downgrade_uses_the_tier_down_template_and_skips_empty_channels() -> None:
    run = Run(program())
    run(enrolled("e1", "2025-01-01T09:00", consent_sms=True))
    run(sale("r1", "10000.00", "2025-01-05T12:00"))
    out = run(tick("2026-01-05"))
    assert [(n.channel, n.template, n.body) for n in out.notifications] == [
        (Channel.EMAIL, "tier_down", "Hi Ana, 10,000 more to get Silver back.")
    ]


def test_a_program_without_texts_notifies_with_the_built_in_ones() -> None:
    run = Run(program(templates=Templates()))
    run(enrolled("e1", "2025-01-01T09:00", consent_sms=True))
    up = {n.channel: n for n in run(sale("r1", "10000.00", "2025-01-05T12:00")).notifications}
    assert (up[Channel.EMAIL].template, up[Channel.EMAIL].subject) == (
        "tier_up",
        "Welcome to Silver, Ana",
    )
    assert "from Member to Silver with 10,000 qualifying points" in up[Channel.EMAIL].body
    assert up[Channel.SMS].body == "You are now Silver! Balance 10,000 points."
    down = {n.channel: n for n in run(tick("2026-01-05")).notifications}
    assert (down[Channel.EMAIL].template, down[Channel.EMAIL].subject) == (
        "tier_down",
        "Your tier is now Member",
    )
    assert down[Channel.SMS].body == "Your tier is now Member. Balance 10,000 points."


def test_channels_turned_off_mean_no_notification() -> None:
    run = Run(program(templates=Templates(tier_up=Template(email_body=""))))
    run(enrolled("e1", "2025-01-01T09:00"))
    out = run(sale("r1", "10000.00", "2025-01-05T12:00"))
    assert out.tier_changes and out.notifications == []
