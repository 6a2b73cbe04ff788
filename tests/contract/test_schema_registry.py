"""The Confluent framing against a real schema registry (Apicurio Registry, Confluent's API
under /apis/ccompat/v7): tierflow's codec registers and reads back, and a worker that writes
the registry framing is read by the JVM consumer, every record."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apicurio_registry import Registry, running_registry
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from contract_live import assert_same_records, points_of, run_worked_examples
from fastavro.schema import to_parsing_canonical_form
from java_client import run_java_consumer
from test_live_worked_examples import PROGRAM, enrolled, redeemed, sale
from wire_examples import receipt_v2, write_body

from agents.rules import apply
from schemas.codec import Codec, CodecError, load_schema
from streams.program import load_program
from streams.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with running_registry(tmp_path_factory.mktemp("registry") / "apicurio.log") as serving:
        yield serving


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def test_the_codec_registers_its_schemas_and_reads_messages_back(registry: Registry) -> None:
    writer = Settings(schema_registry_url=registry.url).codec()  # <topic>-value subjects
    receipt = sale("M-REG", "R-REG-1", 3, 15, "800.00")
    event = redeemed("M-REG", 4, 100)
    state, _ = apply(None, enrolled("M-REG", 2), load_program(PROGRAM))
    _, outputs = apply(state, receipt, load_program(PROGRAM))
    assert outputs.ledger, "the sale should give a ledger entry"

    framed = {
        "Receipt": writer.encode(receipt),
        "MemberEvent": writer.encode(event),
    }
    ids = {name: int.from_bytes(data[1:5], "big") for name, data in framed.items()}
    for name, data in framed.items():
        assert data[0] == 0, f"{name}: not the Confluent framing: {data[:5].hex()}"
        # What the registry holds under that id is our .avsc, to the canonical form.
        held = json.loads(get_json(f"{registry.url}/schemas/ids/{ids[name]}")["schema"])
        ours = load_schema(name)
        assert to_parsing_canonical_form(held) == to_parsing_canonical_form(ours), name
    subjects = set(get_json(f"{registry.url}/subjects"))
    assert {"pos.receipts-value", "loyalty.member-events-value"} <= subjects
    latest = get_json(f"{registry.url}/subjects/pos.receipts-value/versions/latest")
    assert latest["id"] == ids["Receipt"]

    # A reader with an empty cache looks each id up in the registry.
    reader = Codec(schema_registry_url=registry.url)
    assert reader.decode_receipt(framed["Receipt"]) == receipt
    assert reader.decode_member_event(framed["MemberEvent"]) == event
    name, record = reader.decode_record(writer.encode(outputs.ledger[0]))
    assert (name, record["receipt_id"], record["points"]) == ("LedgerEntry", "R-REG-1", 800)

    # Registering again (another process) gives the same id; an id the registry does not
    # hold is `unknown_schema`, not a transient `registry_unavailable`.
    again = Settings(schema_registry_url=registry.url).codec()
    assert again.encode(receipt)[1:5] == framed["Receipt"][1:5]
    unknown = b"\x00" + (2**31 - 1).to_bytes(4, "big") + framed["Receipt"][5:]
    with pytest.raises(CodecError) as refused:
        reader.decode_receipt(unknown)
    assert refused.value.code == "unknown_schema"

    # The next version, with an added optional field, registered under the same subject by
    # a producer that has it: a reader that never saw it reads its messages by id.
    next_id = SchemaRegistryClient({"url": registry.url}).register_schema(
        "pos.receipts-value", Schema(json.dumps(receipt_v2()), "AVRO")
    )
    assert next_id != ids["Receipt"]
    versions = get_json(f"{registry.url}/subjects/pos.receipts-value/versions")
    assert len(versions) == 2
    body = reader.decode_record(framed["Receipt"])[1] | {"channel": "app"}
    newer = b"\x00" + next_id.to_bytes(4, "big") + write_body(receipt_v2(), body)
    assert Codec(schema_registry_url=registry.url).decode_receipt(newer) == receipt


@pytest.mark.integration
def test_java_consumer_reads_every_record_a_worker_writes_with_the_registry_framing(
    registry: Registry, tierflow_settings: Any, tmp_path: Path, java_consumer_jar: Path
) -> None:
    settings = tierflow_settings(partitions=4, program=PROGRAM, schema_registry_url=registry.url)
    wire = run_worked_examples(settings, tmp_path)
    topics = (settings.topic("ledger"), settings.topic("tier_changes"))

    run = run_java_consumer(
        java_consumer_jar,
        settings.bootstrap_servers,
        *topics,
        expect=len(wire),
        schema_registry_url=registry.url,
    )

    assert run.returncode == 0, run.explain()
    assert run.summary["errors"] == 0, run.explain()
    assert run.summary["remaining"] == dict.fromkeys(topics, 0), run.explain()
    assert run.summary["framing"] == {"confluent": len(wire)}, run.explain()
    assert_same_records(run, wire)
    earned, taken_back, gold = points_of(run)
    assert (earned["R-CROSS-1"], earned["R-CROSS-2"], earned["R-CROSS-3"]) == (1200, 300, 200)
    assert taken_back == [-earned["R-RET-1"]] == [-2_250]
    assert gold == [("M-CROSS", "Silver", "UP", 25_000)]
