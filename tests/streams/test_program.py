"""The program file: the example loads; each mistake is refused with its field named."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.rules.program import (
    DEFAULT_TIER_DOWN,
    DEFAULT_TIER_UP,
    DowngradePolicy,
    QualifyingBasis,
    defaults_in_force,
)
from streams.program import ProgramError, load_program, parse_program_text

EXAMPLE = Path(__file__).resolve().parents[2] / "streams" / "program.example.toml"

MINIMAL = """
name = "Test"
currency = "USD"
timezone = "America/New_York"

[[tiers]]
name = "Member"
threshold = 0
multiplier = 1

[[tiers]]
name = "Silver"
threshold = 10000
multiplier = 1.5

[[tiers]]
name = "Gold"
threshold = 25000
multiplier = 2
"""

CAMPAIGN = """
[[campaigns]]
id = "c1"
name = "Double"
tiers = ["Gold"]
starts = 2025-01-01T00:00:00
ends = 2025-02-01T00:00:00
bonus_multiplier = 1.0
"""


def errors_of(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ProgramError) as raised:
        parse_program_text(text)
    return raised.value.errors


def fields_of(text: str) -> list[str]:
    return [field for field, _ in errors_of(text)]


def test_the_example_program_loads_with_the_documented_tiers() -> None:
    program = load_program(EXAMPLE)
    assert (program.currency, program.timezone) == ("USD", "America/New_York")
    (version,) = program.versions
    assert version.effective_from is None
    assert [(t.name, t.threshold, t.multiplier, t.entry_bonus) for t in version.tiers] == [
        ("Member", 0, Decimal(1), 0),
        ("Silver", 10000, Decimal("1.5"), 500),
        ("Gold", 25000, Decimal(2), 1000),
        ("Platinum", 50000, Decimal(3), 2500),
    ]
    assert version.excluded_categories == {"gift_card", "tobacco"}
    assert version.qualifying_basis is QualifyingBasis.BASE
    assert version.window_months == 12
    assert version.downgrade_policy is DowngradePolicy.RECALCULATE
    assert version.expiry_months == 24
    assert version.returns_match_days == 7
    weekend = version.campaigns[0]
    assert weekend.tiers == ("Gold", "Platinum") and weekend.weekdays == (5, 6)
    fixed = version.campaigns[1]
    assert (fixed.bonus_points, fixed.min_spend) == (250, Decimal("100.00"))
    assert "{to_tier}" in version.templates.tier_up.email_subject
    assert version.templates.points_expiring is not None


def test_defaults_follow_the_rules_page() -> None:
    version = parse_program_text(MINIMAL).versions[0]
    assert version.points_per_unit == 1
    assert version.qualifying_basis is QualifyingBasis.BASE
    assert version.window_months == 12
    assert version.downgrade_policy is DowngradePolicy.RECALCULATE
    assert version.hold_months == 0
    assert version.expiry_months is None
    assert version.returns_match_days == 7
    assert version.auto_enroll is True


def test_the_first_tier_must_start_at_zero() -> None:
    text = MINIMAL.replace("threshold = 0", "threshold = 5")
    assert ("tiers[0].threshold", "the first tier's threshold must be 0") in errors_of(text)


def test_thresholds_must_strictly_increase_naming_the_tier_before() -> None:
    text = MINIMAL.replace("threshold = 25000", "threshold = 10000")
    assert ("tiers[2].threshold", "must be greater than tiers[1] (10000)") in errors_of(text)


def test_a_negative_multiplier_is_refused() -> None:
    assert "tiers[1].multiplier" in fields_of(
        MINIMAL.replace("multiplier = 1.5", "multiplier = -1")
    )


def test_tier_names_are_unique() -> None:
    text = MINIMAL.replace('name = "Gold"', 'name = "Silver"')
    assert ("tiers[2].name", "'Silver' is already tiers[1]") in errors_of(text)


def test_a_campaign_may_only_target_existing_tiers() -> None:
    text = MINIMAL + CAMPAIGN.replace('tiers = ["Gold"]', 'tiers = ["Diamond"]')
    (error,) = errors_of(text)
    assert error[0] == "campaigns[0].tiers"
    assert "'Diamond' is not a tier" in error[1]


def test_a_campaign_ends_after_it_starts() -> None:
    text = MINIMAL + CAMPAIGN.replace("ends = 2025-02-01", "ends = 2024-12-01")
    assert fields_of(text) == ["campaigns[0].ends"]


def test_a_campaign_gives_exactly_one_kind_of_bonus() -> None:
    both = MINIMAL + CAMPAIGN + "bonus_points = 100\n"
    neither = MINIMAL + CAMPAIGN.replace("bonus_multiplier = 1.0", "")
    expected = ("campaigns[0]", "give exactly one of bonus_multiplier or bonus_points")
    assert errors_of(both) == [expected]
    assert errors_of(neither) == [expected]


def test_weekdays_are_mon_to_sun() -> None:
    text = MINIMAL + CAMPAIGN + 'weekdays = ["sat", "sunday"]\n'
    assert fields_of(text) == ["campaigns[0].weekdays[1]"]


def test_campaign_times_are_local_without_offset() -> None:
    text = MINIMAL + CAMPAIGN.replace(
        "starts = 2025-01-01T00:00:00", "starts = 2025-01-01T00:00:00Z"
    )
    (error,) = errors_of(text)
    assert error[0] == "campaigns[0].starts"
    assert "without offset" in error[1]


def test_the_timezone_must_be_iana() -> None:
    text = MINIMAL.replace("America/New_York", "Eastern Standard Time")
    assert fields_of(text) == ["timezone"]


def test_the_currency_must_be_iso_4217() -> None:
    assert errors_of(MINIMAL.replace('"USD"', '"DOLLARS"')) == [
        ("currency", "'DOLLARS' is not an ISO 4217 currency code")
    ]


def test_an_unknown_key_is_refused_by_name_with_the_keys_allowed_there() -> None:
    text = MINIMAL + "\n[earn]\npoints_per_dollar = 2\n"
    ((field, message),) = errors_of(text)
    assert field == "earn.points_per_dollar"
    assert "points_per_unit" in message


def test_a_missing_required_key_is_named() -> None:
    assert ("name", "required") in errors_of(MINIMAL.replace('name = "Test"', ""))


def test_an_unknown_placeholder_in_a_template_is_named() -> None:
    text = MINIMAL + '\n[notifications.tier_up]\nemail_subject = "Hi {nmae}"\n'
    ((field, message),) = errors_of(text)
    assert field == "notifications.tier_up.email_subject"
    assert "{nmae}" in message


def test_versions_override_whole_sections_and_inherit_the_rest() -> None:
    text = (
        MINIMAL
        + CAMPAIGN
        + """
[[versions]]
effective_from = 2026-01-01T00:00:00
[versions.earn]
points_per_unit = 2

[[versions]]
effective_from = 2026-07-01
[[versions.tiers]]
name = "Member"
threshold = 0
[[versions.tiers]]
name = "Gold"
threshold = 20000
multiplier = 2.5
"""
    )
    program = parse_program_text(text)
    base, first, second = program.versions
    assert base.effective_from is None and base.points_per_unit == 1
    assert first.effective_from == datetime(2026, 1, 1)
    assert first.points_per_unit == 2 and first.tiers == base.tiers
    assert second.effective_from == datetime(2026, 7, 1)
    assert second.points_per_unit == 2  # inherited from the version before
    assert [tier.name for tier in second.tiers] == ["Member", "Gold"]
    assert second.campaigns == base.campaigns
    assert program.version_at(datetime(2026, 3, 1)) is first


def test_versions_must_be_dated_in_increasing_order() -> None:
    text = MINIMAL + (
        "\n[[versions]]\neffective_from = 2026-01-01T00:00:00\n"
        "[[versions]]\neffective_from = 2025-01-01T00:00:00\n"
    )
    assert errors_of(text) == [
        ("versions[1].effective_from", "must be later than versions[0] (2026-01-01T00:00:00)")
    ]


def test_a_version_is_checked_with_its_own_path() -> None:
    text = MINIMAL + (
        "\n[[versions]]\neffective_from = 2026-01-01T00:00:00\n"
        '[[versions.tiers]]\nname = "Member"\nthreshold = 0\n'
        '[[versions.tiers]]\nname = "Silver"\nthreshold = 0\n'
    )
    assert errors_of(text) == [
        ("versions[0].tiers[1].threshold", "must be greater than tiers[0] (0)")
    ]


def test_a_version_dropping_a_campaign_tier_names_the_campaign() -> None:
    text = (
        MINIMAL
        + CAMPAIGN
        + (
            "\n[[versions]]\neffective_from = 2026-01-01T00:00:00\n"
            '[[versions.tiers]]\nname = "Member"\nthreshold = 0\n'
        )
    )
    ((field, message),) = errors_of(text)
    assert field == "campaigns[0].tiers"
    assert "versions[0].tiers" in message


def test_every_error_is_reported_at_once() -> None:
    text = MINIMAL.replace("threshold = 0", "threshold = 5").replace(
        "threshold = 25000", "threshold = 7"
    )
    assert fields_of(text) == ["tiers[0].threshold", "tiers[2].threshold"]


def test_a_file_that_is_not_toml_or_not_there_is_a_program_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ProgramError) as not_toml:
        load_program(bad)
    assert "not valid TOML" in not_toml.value.errors[0][1]
    with pytest.raises(ProgramError) as missing:
        load_program(tmp_path / "missing.toml")
    assert missing.value.errors[0][0] == "(file)"


def test_program_check_prints_tiers_or_errors_with_exit_code_1(tmp_path: Path) -> None:
    from streams.cli.program import program_app

    runner = CliRunner()
    good = runner.invoke(program_app, ["check", str(EXAMPLE)])
    assert good.exit_code == 0, good.output
    assert "Platinum" in good.output and "weekend-double" in good.output
    bad_file = tmp_path / "bad.toml"
    bad_file.write_text(MINIMAL.replace("threshold = 25000", "threshold = 10000"))
    bad = runner.invoke(program_app, ["check", str(bad_file)])
    assert bad.exit_code == 1
    assert "tiers[2].threshold: must be greater than tiers[1]" in bad.output


def test_a_program_without_notifications_gets_the_built_in_texts() -> None:
    templates = parse_program_text(MINIMAL).versions[0].templates
    assert (templates.tier_up, templates.tier_down) == (DEFAULT_TIER_UP, DEFAULT_TIER_DOWN)
    assert defaults_in_force(templates) == [
        "tier_up email",
        "tier_up sms",
        "tier_down email",
        "tier_down sms",
    ]
    assert templates.points_expiring is None  # the reminder is the program's choice


def test_a_channel_left_out_is_built_in_and_an_empty_text_turns_it_off() -> None:
    text = (
        MINIMAL
        + """
[notifications.tier_up]
email_subject = "Up to {to_tier}"
email_body = "Hi {name}"

[notifications.tier_down]
sms_body = ""
"""
    )
    templates = parse_program_text(text).versions[0].templates
    assert (templates.tier_up.email_subject, templates.tier_up.email_body) == (
        "Up to {to_tier}",
        "Hi {name}",
    )
    assert templates.tier_up.sms_body == DEFAULT_TIER_UP.sms_body
    assert templates.tier_down.sms_body == ""
    assert defaults_in_force(templates) == ["tier_up sms", "tier_down email"]
    assert defaults_in_force(load_program(EXAMPLE).versions[0].templates) == []


def test_program_check_says_which_built_in_texts_are_in_force(tmp_path: Path) -> None:
    from streams.cli.program import program_app

    minimal = tmp_path / "minimal.toml"
    minimal.write_text(MINIMAL)
    runner = CliRunner()
    checked = runner.invoke(program_app, ["check", str(minimal)])
    assert checked.exit_code == 0, checked.output
    assert (
        "built-in texts for tier_up email, tier_up sms, tier_down email, tier_down sms"
        in checked.output
    )
    example = runner.invoke(program_app, ["check", str(EXAMPLE)])
    assert "notifications of tier changes: the program's texts" in example.output
