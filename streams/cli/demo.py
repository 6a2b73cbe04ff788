"""`tierflow demo`: the main job, end to end, on the embedded broker (or the configured one)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    members: Annotated[int, typer.Option(min=1, help="members in the simulated world")] = 5_000,
    receipts: Annotated[int, typer.Option(min=1, help="receipts over the year")] = 200_000,
    seed: Annotated[int, typer.Option(help="random seed of the simulated stream")] = 1,
    malformed_share: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="share of malformed messages")
    ] = 0.002,
    report: Annotated[Path, typer.Option(help="where to write the HTML report")] = Path(
        "data/report.html"
    ),
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="leave broker, worker and sink running")
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="seconds to wait for the pipeline to catch up")
    ] = 900.0,
) -> None:
    """Run the whole product: broker, topics, worker, sink, a simulated year of POS receipts,
    the daily review, then KPIs, three members' feeds and an HTML report."""
    import time

    from rich.console import Console

    from streams.cli.demo_job import Demo, DemoError, DemoOptions
    from streams.settings import Settings

    console = Console()
    options = DemoOptions(
        members=members,
        receipts=receipts,
        seed=seed,
        malformed_share=malformed_share,
        report=report,
        keep_running=keep_running,
        catch_up_timeout=timeout,
    )
    began = time.monotonic()
    run = Demo.for_run(Settings(), options, console)
    try:
        run.run()
    except DemoError as error:
        console.print(f"[red]demo failed:[/] {error}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: the worker, the sink and the broker were stopped[/]")
        raise typer.Exit(130) from None
    console.print(f"demo finished in {time.monotonic() - began:.0f} s")
