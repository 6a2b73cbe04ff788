"""A downstream JVM team's view of the contract: the consumer of examples/java (classes
generated from schemas/*.avsc, Avro's BinaryMessageDecoder, the Java Kafka client with
read_committed) reads a live worker's ledger and tier-change topics and decodes every record
to the same fields tierflow's own codec reads, with the points the rules give."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from contract_doc import schema_rows
from contract_live import assert_same_records, points_of, run_worked_examples
from java_client import run_java_consumer
from test_live_worked_examples import PROGRAM


def test_java_computes_the_fingerprints_the_contract_doc_lists(java_consumer_jar: Path) -> None:
    printed = subprocess.run(
        ["java", "-cp", str(java_consumer_jar), "io.tierflow.examples.Fingerprints"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    java = {line["schema"]: line for line in map(json.loads, printed.splitlines())}
    rows = schema_rows()
    assert sorted(java) == sorted(row.full_name for row in rows)
    for row in rows:
        seen = java[row.full_name]
        assert seen["canonical_form"] == row.canonical_form, row.full_name
        assert (seen["parsing_fingerprint64"], seen["wire_hex"]) == (row.java_long, row.wire_hex)


@pytest.mark.integration
def test_java_consumer_decodes_every_ledger_entry_and_tier_change_of_a_live_worker(
    tierflow_settings: Any, tmp_path: Path, java_consumer_jar: Path
) -> None:
    settings = tierflow_settings(partitions=4, program=PROGRAM)
    wire = run_worked_examples(settings, tmp_path)
    topics = (settings.topic("ledger"), settings.topic("tier_changes"))

    told = run_java_consumer(
        java_consumer_jar, settings.bootstrap_servers, *topics, expect=len(wire)
    )
    # Not told how many: it stops when nothing new came for 3 s, and must have read them all.
    idle = run_java_consumer(java_consumer_jar, settings.bootstrap_servers, *topics, idle_seconds=3)

    for run, stopped in ((told, "expected"), (idle, "idle")):
        assert run.returncode == 0, run.explain()
        assert run.summary["stopped"] == stopped, run.explain()
        assert run.summary["errors"] == 0, run.explain()
        assert run.summary["remaining"] == dict.fromkeys(topics, 0), run.explain()
        assert run.summary["framing"] == {"single-object": len(wire)}, run.explain()
        assert_same_records(run, wire)

    earned, taken_back, gold = points_of(told)
    assert (earned["R-CROSS-1"], earned["R-CROSS-2"], earned["R-CROSS-3"]) == (1200, 300, 200)
    # The return takes back what its sale earned (at Silver's x1.5).
    assert taken_back == [-earned["R-RET-1"]] == [-2_250]
    assert gold == [("M-CROSS", "Silver", "UP", 25_000)]
