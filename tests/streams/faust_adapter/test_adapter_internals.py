"""The adapter's reliance on Faust's and aiokafka's private names is listed, checked at
start-up with an error naming what is missing, and confined to tierflow's own subclasses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from faust.transport.consumer import ThreadDelegateConsumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer

from streams.faust_adapter.internals import (
    PRIVATE_NAMES,
    FaustInternalsChanged,
    check_internals,
)

REPO = Path(__file__).resolve().parents[3]


def test_the_installed_faust_has_every_name_the_adapter_relies_on() -> None:
    check_internals()


def test_a_missing_name_stops_the_start_with_an_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(ThreadDelegateConsumer, "_getmany")  # undone after the test
    with pytest.raises(FaustInternalsChanged) as missing:
        check_internals()
    message = str(missing.value)
    assert "ThreadDelegateConsumer has no attribute '_getmany'" in message
    assert "faust-streaming 0.15.3" in message


def test_building_a_worker_app_patches_no_faust_class(tmp_path: Path) -> None:
    from streams.app import create_app
    from streams.settings import Settings

    classes = (ThreadDelegateConsumer, Consumer, AIOKafkaConsumerThread)
    before = [dict(vars(cls)) for cls in classes]
    app = create_app(
        Settings(
            bootstrap_servers="127.0.0.1:1",
            program=REPO / "streams" / "program.example.toml",
            worker_datadir=tmp_path,
        )
    )
    assert [dict(vars(cls)) for cls in classes] == before
    assert issubclass(app.transport.Consumer, Consumer)
    assert app.transport.Consumer is not Consumer


def test_private_names_of_faust_and_aiokafka_appear_only_in_the_adapter() -> None:
    """The house rule, checked: outside streams/faust_adapter/internals.py no code names a
    private attribute of Faust's or aiokafka's objects."""
    names = {private.name for private in PRIVATE_NAMES} | {
        "_thread",
        "_read_offset",
        "_committed_offset",
        "_acked",
        "_gap",
        "_add_gap",
        "_unacked_messages",
        "_enable_passive",
        "_processors",
        "_ensure_producer",
        "_ensure_consumer",
        "_fetcher",
        "_subscription",
        "_paused_partitions",
        "_active_partitions",
    }
    pattern = re.compile(r"\.(" + "|".join(sorted(names)) + r")\b")
    offenders = []
    for folder in ("agents", "streams", "sink"):
        for path in (REPO / folder).rglob("*.py"):
            if path.name == "internals.py" and path.parent.name == "faust_adapter":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []
