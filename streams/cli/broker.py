"""`tierflow broker fetch|start|stop|status` and `tierflow topics create`.

Thin: build the settings, call streams.broker.embedded / streams.broker.topics, print one
line per fact.
A BrokerError or TopicError prints its code and message and exits 2.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from streams.settings import Settings

broker_app = typer.Typer(
    help="The embedded Apache Kafka broker (KRaft, one JVM, state under .tierflow/).",
    no_args_is_help=True,
)
topics_app = typer.Typer(help="The contract's Kafka topics.", no_args_is_help=True)

T = TypeVar("T")


def _settings(**flags: Any) -> Settings:
    return Settings(**{name: value for name, value in flags.items() if value is not None})


def _run(action: Callable[[], T]) -> T:
    from streams.broker import BrokerError
    from streams.broker.topics import TopicError

    try:
        return action()
    except (BrokerError, TopicError) as error:
        typer.secho(f"error [{error.code}]: {error.message}", err=True, fg="red")
        raise typer.Exit(2) from error


Port = Annotated[int | None, typer.Option(help="client port (TIERFLOW_BROKER_PORT)")]
Home = Annotated[Path | None, typer.Option(help="state folder (TIERFLOW_HOME)")]


@broker_app.command()
def fetch(
    offline: Annotated[bool, typer.Option(help="use only Maven's local repository")] = False,
    force: Annotated[bool, typer.Option(help="fetch even if the stamp is current")] = False,
    home: Home = None,
) -> None:
    """Fetch Apache Kafka's jars with Maven (once; later runs check the stamp and return)."""
    from streams.broker.config import BrokerFiles
    from streams.broker.jars import fetch as fetch_jars

    files = BrokerFiles.of(_settings(home=home))
    done = _run(lambda: fetch_jars(files.jars, files.stamp, offline=offline, force=force))
    verb = "fetched" if done.downloaded else "already fetched"
    typer.echo(f"Kafka {done.kafka_version} jars {verb}: {done.jars} ({done.seconds:.1f} s)")


@broker_app.command()
def start(
    reset: Annotated[bool, typer.Option(help="wipe the broker's data (topics) first")] = False,
    port: Port = None,
    home: Home = None,
) -> None:
    """Start the embedded broker (or reuse the running one) and wait until it answers."""
    from streams.broker.embedded import start_broker

    settings = _settings(broker_port=port, home=home)
    if settings.bootstrap_servers:
        typer.echo(
            f"TIERFLOW_BOOTSTRAP_SERVERS is set ({settings.bootstrap_servers}): tierflow uses "
            "that cluster; no embedded broker started."
        )
        return
    broker = _run(lambda: start_broker(settings, reset=reset))
    if broker.reused:
        typer.echo(
            f"broker already running (pid {broker.pid}) on {broker.bootstrap_servers}; reusing it"
        )
    else:
        typer.echo(
            f"broker started: Kafka {broker.kafka_version} on {broker.bootstrap_servers} "
            f"(pid {broker.pid}) in {broker.seconds:.1f} s; log {broker.server_log}"
        )


@broker_app.command()
def stop(port: Port = None, home: Home = None) -> None:
    """Stop the embedded broker: SIGTERM, then SIGKILL after TIERFLOW_BROKER_STOP_TIMEOUT."""
    from streams.broker.embedded import stop_broker

    pid = _run(lambda: stop_broker(_settings(broker_port=port, home=home)))
    typer.echo(f"broker stopped (pid {pid})" if pid else "broker was not running")


@broker_app.command()
def status(port: Port = None, home: Home = None) -> None:
    """Say whether the broker runs and answers; exit 0 if it does, 1 if not."""
    from streams.broker.embedded import broker_answers, broker_status

    settings = _settings(broker_port=port, home=home)
    if settings.bootstrap_servers:
        answers = broker_answers(settings, timeout=5.0)
        state = "answering" if answers else "NOT answering"
        typer.echo(f"external cluster {settings.bootstrap_servers}: {state}")
        raise typer.Exit(0 if answers else 1)
    now = _run(lambda: broker_status(settings))
    if now.running:
        typer.echo(
            f"running: Kafka {now.kafka_version}, pid {now.pid}, {now.bootstrap_servers} "
            f"answering; data {now.data}; log {now.server_log}"
        )
    elif now.process_alive:
        typer.echo(f"NOT ready: pid {now.pid} lives but {now.bootstrap_servers} does not answer")
    elif now.answering:
        typer.echo(f"not running here, but something else answers on {now.bootstrap_servers}")
    else:
        typer.echo(f"not running (no broker JVM for {now.data.parent})")
    raise typer.Exit(0 if now.running else 1)


@topics_app.callback()
def _topics() -> None:
    """The contract's Kafka topics."""


@topics_app.command()
def create(
    partitions: Annotated[int | None, typer.Option(help="TIERFLOW_PARTITIONS")] = None,
    retention_ms: Annotated[int | None, typer.Option(help="-1 keeps everything")] = None,
    prefix: Annotated[str | None, typer.Option(help="TIERFLOW_TOPIC_PREFIX")] = None,
) -> None:
    """Create the contract's topics (idempotent); a partition-count mismatch is an error."""
    from streams.broker.topics import create_topics

    settings = _settings(partitions=partitions, retention_ms=retention_ms, topic_prefix=prefix)
    for topic in _run(lambda: create_topics(settings)):
        verb = "created" if topic.created else "exists "
        typer.echo(f"{verb} {topic.name} ({topic.partitions} partitions)")
