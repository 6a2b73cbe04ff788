"""Bad input never stops a partition: each bad message becomes one dead letter with its
original bytes, topic, partition and offset, and the next good message is applied."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from live_worker import TopicReader, WorkerProcess, free_port
from test_live_worked_examples import PROGRAM, enrolled, sale

pytestmark = pytest.mark.integration


def test_bad_messages_land_in_dead_letters_and_the_partition_goes_on(
    tierflow_settings: Any, tmp_path: Path
) -> None:
    from streams.broker.producer import LoyaltyProducer

    settings = tierflow_settings(program=PROGRAM)
    worker = WorkerProcess(
        settings, free_port(), tmp_path / "data", tmp_path / "worker.log"
    ).start()
    reader = TopicReader(settings, ("ledger", "dead_letters"))
    try:
        worker.wait_ready()
        producer = LoyaltyProducer(settings)
        codec = producer.codec
        receipts = producer.topic("receipts")
        events = producer.topic("member_events")
        good = sale("M-DL", "R-GOOD", 3, 15, "10.00")
        bad = {
            "bad_framing": (receipts, b"M-DL", b'{"receipt_id": "json, not avro"}'),
            "bad_avro": (receipts, b"M-DL", codec.encode(good)[:-7]),
            "key_mismatch": (receipts, b"M-OTHER", codec.encode(replace(good, receipt_id="R-K"))),
            "wrong_currency": (
                receipts,
                b"M-DL",
                codec.encode(replace(good, receipt_id="R-EUR", currency="EUR")),
            ),
            "empty_payload": (events, b"M-DL", None),
        }
        producer.send(enrolled("M-DL", 2))
        for topic, key, value in bad.values():
            producer._producer.produce(topic, value, key)
        producer.send(good)
        producer.flush()

        seen = reader.until(
            lambda got: (
                len(got["dead_letters"]) >= len(bad)
                and any(e["receipt_id"] == "R-GOOD" for e in got["ledger"])
            )
        )
        reader.settle(quiet=2.0)
    finally:
        worker.stop()
        reader.close()

    letters = {letter["error_code"]: letter for letter in seen["dead_letters"]}
    assert sorted(letters) == sorted(bad)
    for code, (topic, key, value) in bad.items():
        letter = letters[code]
        assert letter["source_topic"] == topic, code
        assert letter["payload"] == (value or b""), code
        assert letter["key"] == key, code
        assert letter["offset"] >= 0 and letter["error"], code
    earned = [e for e in seen["ledger"] if e["receipt_id"] == "R-GOOD"]
    assert [(e["kind"], e["points"]) for e in earned] == [("EARN", 10)]
