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
    ("streams.cli_broker", "broker_app", "broker"),
    ("streams.cli_broker", "topics_app", "topics"),
    ("streams.cli_program", "program_app", "program"),
]
_COMMANDS = [
    ("streams.cli_simulate", "simulate", "simulate"),
    ("streams.cli_simulate", "produce", "produce"),
    ("streams.cli_replay", "replay", "replay"),
    ("streams.cli_replay", "whatif", "whatif"),
    ("streams.cli_worker", "worker", "worker"),
    ("streams.cli_worker", "review", "review"),
    ("streams.cli_sink", "sink", "sink"),
    ("streams.cli_sink", "kpis", "kpis"),
    ("streams.cli_sink", "member", "member"),
    ("streams.cli_sink", "report", "report"),
    ("streams.cli_demo", "demo", "demo"),
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
