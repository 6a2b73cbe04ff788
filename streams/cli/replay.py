"""`tierflow replay` and `tierflow whatif`: the rules core over a history file, no Kafka."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

HistoryFile = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines of receipts and events")
]
AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="run the daily reviews for local dates up to and including this date "
        "(YYYY-MM-DD; default: the last event's local date)",
    ),
]


def _as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint="--as-of"
        ) from None


def _load(path: Path):  # type: ignore[no-untyped-def]
    from streams.program import ProgramError, load_program

    try:
        return load_program(path)
    except ProgramError as invalid:
        typer.echo(f"{path}: the program file is invalid:", err=True)
        for field, message in invalid.errors:
            typer.echo(f"  {field}: {message}", err=True)
        raise typer.Exit(2) from None


def _run(history: Path, program_path: Path, as_of: date | None, label: str):  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from streams.offline.replay import Replay
    from streams.settings import Settings

    program = _load(program_path)
    total = sum(1 for _ in history.open("rb"))
    replay = Replay(program, Settings().partitions)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)
        counter = {"n": 0}

        def tick() -> None:
            counter["n"] += 1
            if counter["n"] % 2000 == 0:
                progress.update(task, completed=counter["n"])

        replay.apply_file(history, tick)
        progress.update(task, completed=total)
    replay.review_through(as_of)
    return replay


def replay(
    history: HistoryFile,
    program: Annotated[Path, typer.Option("--program", exists=True, help="program TOML")],
    duckdb: Annotated[Path, typer.Option("--duckdb", help="DuckDB file to write")],
    as_of: AsOf = None,
    compare_with: Annotated[
        Path | None,
        typer.Option(
            "--compare-with",
            exists=True,
            help="an analytics store the sink wrote from the same inputs: compare it, "
            "column by column (exit 1 on a difference)",
        ),
    ] = None,
) -> None:
    """Run the rules over a history file and write the contract's tables into DuckDB."""
    from rich.console import Console

    from streams.offline.replay import write_store

    console = Console()
    result = _run(history, program, _as_of(as_of), "replaying")
    rows = write_store(result, duckdb)
    counts = result.counts()
    console.print(
        f"replayed [bold]{len(result.inputs):,}[/] events for [bold]{len(result.records):,}[/] "
        f"members through {result.as_of}: {counts['ledger']:,} ledger entries, "
        f"{counts['tier_changes']:,} tier changes, {counts['notifications']:,} "
        f"notifications, {counts['dead_letters']:,} dead letters -> {duckdb} ({rows:,} rows)"
    )
    if compare_with is not None:
        from streams.offline.compare import compare_stores, comparison_table

        compared = compare_stores(compare_with, duckdb)
        console.print(comparison_table(compared, history, duckdb))
        if not compared.equal:
            console.print(f"live and replay differ: {compared.summary()}")
            raise typer.Exit(1)


def whatif(
    history: HistoryFile,
    new_program: Annotated[Path, typer.Option("--program", exists=True, help="proposed program")],
    current: Annotated[
        Path | None,
        typer.Option("--current", exists=True, help="current program (default: settings)"),
    ] = None,
    as_of: AsOf = None,
) -> None:
    """Replay one history under the current and a proposed program, and compare."""
    from rich.console import Console

    from streams.offline.whatif import compare, render
    from streams.settings import Settings

    current = current or Settings().program
    day = _as_of(as_of)
    before = _run(history, current, day, "current program")
    after = _run(history, new_program, day, "proposed program")
    Console().print(render(compare(before, after), current.name, new_program.name))
