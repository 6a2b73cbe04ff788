"""`tierflow program check FILE`: load a program file; show its tiers and campaigns, or why not."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import typer

program_app = typer.Typer(
    help="Program files: check one before a worker uses it.", no_args_is_help=True
)


@program_app.callback()
def _program() -> None:
    """Program files: check one before a worker uses it."""
    # A callback keeps `check` a subcommand even while it is the group's only command.


@program_app.command("check")
def check(
    file: Path = typer.Argument(..., help="the program file (TOML)"),  # noqa: B008
) -> None:
    """Check FILE; print its tiers, campaigns and the built-in notification texts in force
    per version, or each error with its field."""
    from rich.console import Console
    from rich.table import Table

    from agents.rules.program import defaults_in_force
    from streams.program import WEEKDAYS, ProgramError, load_program

    # Piped output (CI logs) gets room for the campaign table instead of 80 columns.
    console = Console(width=None if sys.stdout.isatty() else 160)
    try:
        program = load_program(file)
    except ProgramError as bad:
        console.print(f"[bold red]{file}: {len(bad.errors)} error(s)[/]")
        for field, reason in bad.errors:
            console.print(f"  [red]{field}[/]: {reason}", highlight=False, markup=True)
        raise typer.Exit(code=1) from None
    console.print(
        f"[bold]{program.name}[/]  currency {program.currency}  timezone {program.timezone}  "
        f"{len(program.versions)} version(s)",
        highlight=False,
    )
    for version in program.versions:
        since = version.effective_from.isoformat() if version.effective_from else "the start"
        tiers = Table(title=f"Tiers from {since}", title_justify="left")
        for column in ("tier", "threshold", "multiplier", "entry bonus"):
            tiers.add_column(column, justify="left" if column == "tier" else "right")
        for tier in version.tiers:
            tiers.add_row(
                tier.name, f"{tier.threshold:,}", f"x{tier.multiplier}", f"{tier.entry_bonus:,}"
            )
        console.print(tiers)
        expiry = f"{version.expiry_months} months" if version.expiry_months else "never"
        console.print(
            f"earn {version.points_per_unit} per unit, excluded: "
            f"{', '.join(sorted(version.excluded_categories)) or 'none'}; qualifying "
            f"{version.qualifying_basis.value} over {version.window_months} months; downgrade "
            f"{version.downgrade_policy.value} (hold {version.hold_months} months); expiry "
            f"{expiry}; returns wait {version.returns_match_days} days",
            highlight=False,
        )
        defaults = defaults_in_force(version.templates)
        console.print(
            "notifications of tier changes: "
            + (f"built-in texts for {', '.join(defaults)}" if defaults else "the program's texts"),
            highlight=False,
        )
        if not version.campaigns:
            continue
        campaigns = Table(title=f"Campaigns from {since}", title_justify="left")
        for column in ("id", "tiers", "when", "days", "lines", "bonus", "min spend", "cap"):
            campaigns.add_column(column)
        for campaign in version.campaigns:
            bonus = (
                f"+{campaign.bonus_multiplier} x base"
                if campaign.bonus_multiplier is not None
                else f"+{campaign.bonus_points} points"
            )
            lines = ", ".join(campaign.categories + campaign.skus) or "all"
            campaigns.add_row(
                campaign.id,
                ", ".join(campaign.tiers) or "all",
                f"{_moment(campaign.starts)} .. {_moment(campaign.ends)}",
                ", ".join(WEEKDAYS[day] for day in campaign.weekdays) or "all",
                lines,
                bonus,
                str(campaign.min_spend),
                "-"
                if campaign.max_bonus_per_member is None
                else str(campaign.max_bonus_per_member),
            )
        console.print(campaigns)


def _moment(local: datetime) -> str:
    return f"{local:%Y-%m-%d}" if local.time() == datetime.min.time() else f"{local:%Y-%m-%d %H:%M}"
