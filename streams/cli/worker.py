"""`tierflow worker` (run the Faust worker) and `tierflow review --date D` (publish ticks)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer


def worker(
    web_port: Annotated[int | None, typer.Option(help="the worker's web port (member API)")] = None,
    datadir: Annotated[Path | None, typer.Option(help="table store folder of this worker")] = None,
    loglevel: Annotated[str, typer.Option(help="debug | info | warning | error")] = "info",
) -> None:
    """Run a worker: the member agent, the review timer and the member API.

    Several workers with the same settings share the partitions (one consumer group); a
    member's state moves with its partition through the table's changelog. SIGTERM stops
    the worker gracefully (the current batch is committed first).
    """
    import faust

    from streams.app import create_app
    from streams.broker.topics import TopicError, create_topics
    from streams.collector import settle_for_batches
    from streams.logs import configure, logging_config
    from streams.settings import Settings

    overrides: dict[str, object] = {}
    if web_port is not None:
        overrides["web_port"] = web_port
    if datadir is not None:
        overrides["worker_datadir"] = datadir
    settings = Settings(**overrides)  # type: ignore[arg-type]
    configure(settings.log_format, loglevel)
    try:  # the member table's changelog before the group forms (docs/streaming.md)
        create_topics(settings, names=(), changelog=True)
    except TopicError as error:
        refused = error.code == "authentication_failed"
        hint = "TIERFLOW_SASL_*" if refused else "TIERFLOW_BOOTSTRAP_SERVERS"
        raise typer.BadParameter(str(error), param_hint=hint) from None
    app = create_app(settings)
    # Everything built so far lives as long as the worker; what comes is batches.
    settle_for_batches()
    faust.Worker(
        app,
        loglevel=loglevel,
        logging_config=logging_config(settings.log_format, loglevel),
        redirect_stdouts=False,
    ).execute_from_commandline()


def review(
    review_date: Annotated[str, typer.Option("--date", help="local date YYYY-MM-DD to review")],
) -> None:
    """Publish the review ticks of a local date to every partition of the ticks topic."""
    from streams.broker.producer import publish_review_ticks
    from streams.settings import Settings

    try:
        day = date.fromisoformat(review_date)
    except ValueError as bad:
        raise typer.BadParameter(f"{review_date!r} is not a date YYYY-MM-DD") from bad
    settings = Settings()
    sent = publish_review_ticks(settings, day)
    typer.echo(f"published {sent} review ticks for {day} to {settings.topic('review_ticks')}")
