"""`tierflow simulate` (a seeded POS stream to a JSON Lines file or to Kafka) and
`tierflow produce FILE.jsonl` (a file's receipts and member events to their topics).

Thin: build settings and the program, run streams.simulator.stream / streams.broker.producer,
show progress.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer

if TYPE_CHECKING:
    from rich.progress import Progress

    from agents.rules.events import MemberEvent, Receipt
    from agents.rules.program import Program
    from streams.broker.producer import LoyaltyProducer
    from streams.settings import Settings
    from streams.simulator.malformed import MalformedMessage

    Message = Receipt | MemberEvent | MalformedMessage

PROGRESS_EVERY = 2_000  # messages between progress-bar refreshes (cheap enough, smooth enough)
REPORTED_LINES = 20  # invalid lines printed one by one; the rest are only counted

Bootstrap = Annotated[
    str | None, typer.Option(help="Kafka bootstrap servers (TIERFLOW_BOOTSTRAP_SERVERS)")
]
TopicPrefix = Annotated[str | None, typer.Option(help="topic name prefix (TIERFLOW_TOPIC_PREFIX)")]
Rate = Annotated[
    float | None, typer.Option(help="at most this many messages per second (token bucket)")
]


def _settings(**flags: Any) -> Settings:
    from streams.settings import Settings

    return Settings(**{name: value for name, value in flags.items() if value is not None})


def _program(path: Path | None, settings: Settings) -> Program | None:
    """The program file named, else the configured one if it exists, else None (defaults)."""
    from streams.program import ProgramError, load_program

    chosen = path or settings.program
    if path is None and not chosen.exists():
        typer.echo(f"note: no program file at {chosen}; simulating with USD, America/New_York")
        return None
    try:
        return load_program(chosen)
    except ProgramError as error:
        for field, message in error.errors:
            typer.secho(f"{chosen}: {field}: {message}", err=True, fg="red")
        raise typer.Exit(2) from error
    except OSError as error:
        typer.secho(f"error: cannot read the program file {chosen}: {error}", err=True, fg="red")
        raise typer.Exit(2) from error


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[detail]}"),
        transient=False,
    )


def _paced(messages: Iterable[Any], rate: float | None) -> Iterator[Any]:
    """The messages, no faster than `rate` a second (checked in small chunks, not each one)."""
    if rate is None:
        yield from messages
        return
    from streams.broker.producer import RateLimit

    limit = RateLimit(rate)
    chunk = max(1, min(1_000, int(rate / 50)))
    for count, message in enumerate(messages, start=1):
        yield message
        if count % chunk == 0:
            limit.wait(chunk)


def _open_producer(settings: Settings) -> LoyaltyProducer:
    from confluent_kafka import KafkaException

    from streams.broker.producer import LoyaltyProducer
    from streams.broker.topics import TopicError, create_topics

    try:
        create_topics(settings)
        return LoyaltyProducer(settings)
    except (TopicError, KafkaException) as error:
        typer.secho(f"error: Kafka at {settings.bootstrap}: {error}", err=True, fg="red")
        raise typer.Exit(2) from error


def _flush(producer: LoyaltyProducer) -> None:
    from streams.broker.producer import ProduceError

    try:
        producer.flush(timeout=120.0)
    except ProduceError as error:
        typer.secho(f"error [{error.code}]: {error.message}", err=True, fg="red")
        for line in error.errors:
            typer.secho(f"  {line}", err=True)
        raise typer.Exit(1) from error


def simulate(
    out: Annotated[
        Path | None, typer.Option(help="write the stream to this JSON Lines file")
    ] = None,
    produce: Annotated[bool, typer.Option("--produce", help="produce the stream to Kafka")] = False,
    members: Annotated[int, typer.Option(min=1, help="members in the simulated world")] = 5_000,
    receipts: Annotated[int, typer.Option(min=0, help="receipts (sales and returns)")] = 200_000,
    seed: Annotated[int, typer.Option(help="random seed: same seed, same stream")] = 1,
    days: Annotated[int, typer.Option(min=2, help="days simulated")] = 365,
    start: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="first local date [default: DAYS before today]"),
    ] = None,
    malformed_share: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="share of malformed messages (dead letters)")
    ] = 0.0,
    rate: Rate = None,
    program: Annotated[
        Path | None, typer.Option(help="program file [default: TIERFLOW_PROGRAM]")
    ] = None,
    bootstrap_servers: Bootstrap = None,
    topic_prefix: TopicPrefix = None,
) -> None:
    """Simulate a retail chain's POS stream: stores, members, receipts, returns, support events."""
    from streams.simulator.stream import DEFAULT_TIMEZONE, SimulationParams, first_day
    from streams.simulator.stream import simulate as simulated_stream

    if (out is None) == (not produce):
        typer.secho("error: give exactly one of --out FILE.jsonl and --produce", err=True, fg="red")
        raise typer.Exit(2)
    settings = _settings(bootstrap_servers=bootstrap_servers, topic_prefix=topic_prefix)
    loaded = _program(program, settings)
    params = SimulationParams(
        seed=seed,
        members=members,
        receipts=receipts,
        start=start.date() if start else None,
        days=days,
        malformed_share=malformed_share,
    )
    zone = loaded.zone if loaded else ZoneInfo(DEFAULT_TIMEZONE)
    params = replace(params, start=first_day(params, zone))
    stream = _paced(simulated_stream(params, loaded), rate)
    target = str(out) if out else f"Kafka {settings.bootstrap}"
    typer.echo(
        f"simulating {receipts:,} receipts for {members:,} members over {days} days from "
        f"{params.start} (seed {seed}) -> {target}"
    )
    began = time.perf_counter()
    if out is not None:
        counts = _write_jsonl(stream, out, receipts)
    else:
        producer = _open_producer(settings)
        counts = _produce_stream(stream, producer, receipts)
        _flush(producer)
    _summary(counts, time.perf_counter() - began, "written" if out else "produced and acknowledged")


def _kind(message: Message) -> str:
    from agents.rules.events import Receipt
    from streams.simulator.malformed import MalformedMessage

    if isinstance(message, Receipt):
        return "receipts"
    if isinstance(message, MalformedMessage):
        return "malformed"
    return "member events"


def _counted(
    stream: Iterable[Message], progress: Progress, receipts: int, counts: Counter[str]
) -> Iterator[Message]:
    """The stream, counting by kind and moving the bar (receipts are exact, so they set it)."""
    from agents.rules.events import Receipt

    task = progress.add_task("simulating", total=receipts, detail="")
    since = 0
    done = 0
    for message in stream:
        if type(message) is Receipt:
            done += 1
        else:
            counts[_kind(message)] += 1
        since += 1
        if since == PROGRESS_EVERY:
            since = 0
            detail = f"{counts['member events']:,} member events {counts['malformed']:,} malformed"
            progress.update(task, completed=done, detail=detail)
        yield message
    counts["receipts"] = done
    progress.update(task, completed=done)


def _write_jsonl(stream: Iterable[Message], out: Path, receipts: int) -> Counter[str]:
    from schemas.jsonl import to_json_line
    from streams.simulator.malformed import MalformedMessage, json_line

    counts: Counter[str] = Counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    with _progress() as progress, out.open("w", encoding="utf-8", newline="\n") as file:
        batch: list[str] = []
        for message in _counted(stream, progress, receipts, counts):
            if isinstance(message, MalformedMessage):
                batch.append(json_line(message))
            else:
                batch.append(to_json_line(message))
            if len(batch) >= 5_000:
                file.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            file.write("\n".join(batch) + "\n")
    return counts


def _produce_stream(
    stream: Iterable[Message], producer: LoyaltyProducer, receipts: int
) -> Counter[str]:
    counts: Counter[str] = Counter()
    with _progress() as progress:
        send = producer.send
        try:
            for message in _counted(stream, progress, receipts, counts):
                send(message)
        except KeyboardInterrupt:
            # What was handed to the producer still reaches the broker: no half-sent stream
            # without a count of what made it.
            progress.stop()
            typer.echo(f"interrupted: flushing {producer.pending():,} messages already sent")
            _flush(producer)
            typer.echo(f"{sum(producer.sent.values()):,} messages produced before the interrupt")
            raise typer.Exit(130) from None
        progress.console.print(f"flushing {producer.pending():,} messages still in flight...")
    return counts


def _summary(counts: Counter[str], seconds: float, verb: str) -> None:
    total = sum(counts.values())
    parts = ", ".join(f"{counts[k]:,} {k}" for k in ("receipts", "member events", "malformed"))
    typer.echo(f"{total:,} messages {verb} in {seconds:.1f} s ({total / seconds:,.0f}/s): {parts}")


def produce(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a JSON Lines file")],
    dead_letter_invalid: Annotated[
        bool,
        typer.Option(help="send lines that do not parse, as raw bytes, to the receipts topic"),
    ] = False,
    rate: Rate = None,
    bootstrap_servers: Bootstrap = None,
    topic_prefix: TopicPrefix = None,
) -> None:
    """Produce a JSON Lines file's receipts and member events to their topics, in file order."""
    from schemas.codec import CodecError
    from schemas.jsonl import read_jsonl

    settings = _settings(bootstrap_servers=bootstrap_servers, topic_prefix=topic_prefix)
    lines = _count_lines(file)
    producer = _open_producer(settings)
    counts: Counter[str] = Counter()
    invalid: list[int] = []
    began = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task(f"producing {file.name}", total=lines, detail="")
        for line_number, item in _paced(read_jsonl(file), rate):
            if isinstance(item, CodecError):
                invalid.append(line_number)
                if len(invalid) <= REPORTED_LINES:
                    progress.console.print(
                        f"{file}:{line_number}: [{item.code}] {item.message}",
                        markup=False,  # "[bad_json]" is text here, not a rich style
                        highlight=False,
                    )
            else:
                producer.send(item)
                counts[_kind(item)] += 1
            if line_number % PROGRESS_EVERY == 0:
                progress.update(task, completed=line_number, detail=f"{len(invalid)} invalid")
        progress.update(task, completed=lines, detail=f"{len(invalid)} invalid")
    if invalid and dead_letter_invalid:
        _send_raw_lines(file, set(invalid), producer)
    _flush(producer)
    counts["invalid lines"] = len(invalid)
    seconds = time.perf_counter() - began
    sent = counts["receipts"] + counts["member events"]
    typer.echo(
        f"{sent:,} messages produced and acknowledged in {seconds:.1f} s "
        f"({sent / seconds:,.0f}/s): "
        f"{counts['receipts']:,} receipts, {counts['member events']:,} member events; "
        f"{len(invalid):,} invalid lines "
        + (
            f"sent to {producer.receipts_topic} to be dead-lettered"
            if dead_letter_invalid
            else "skipped"
        )
    )


def _count_lines(file: Path) -> int:
    with file.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def _send_raw_lines(file: Path, numbers: set[int], producer: LoyaltyProducer) -> None:
    """Invalid lines as they are, so the worker dead-letters them (they are not Avro)."""
    with file.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if number in numbers:
                producer.send_raw(producer.receipts_topic, None, line.rstrip(b"\r\n"))
