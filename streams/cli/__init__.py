"""The `tierflow` command line: one typer app; each area registers its commands here.

Command modules keep heavy imports (faust, duckdb, confluent_kafka) inside the command
functions so that `tierflow --help` stays fast.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="tierflow",
    help="tierflow: a streaming loyalty engine (Kafka + Faust + DuckDB).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

# (module, attribute, name): a typer sub-app (a group of commands) or a single command.
_GROUPS = [
    ("streams.cli.broker", "broker_app", "broker"),
    ("streams.cli.broker", "topics_app", "topics"),
    ("streams.cli.program", "program_app", "program"),
]
_COMMANDS = [
    ("streams.cli.simulate", "simulate", "simulate"),
    ("streams.cli.simulate", "produce", "produce"),
    ("streams.cli.replay", "replay", "replay"),
    ("streams.cli.replay", "whatif", "whatif"),
    ("streams.cli.worker", "worker", "worker"),
    ("streams.cli.worker", "review", "review"),
    ("streams.cli.sink", "sink", "sink"),
    ("streams.cli.sink", "kpis", "kpis"),
    ("streams.cli.sink", "member", "member"),
    ("streams.cli.sink", "report", "report"),
    ("streams.cli.status", "status", "status"),
    ("streams.cli.demo", "demo", "demo"),
]


def _register() -> None:
    for module_name, attribute, name in _GROUPS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            if missing.name != module_name:
                raise
            continue
        app.add_typer(getattr(module, attribute), name=name)
    for module_name, attribute, name in _COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            if missing.name != module_name:
                raise
            continue
        app.command(name=name)(getattr(module, attribute))


_register()


def main() -> None:
    app()
