"""Receipts written in an aborted Kafka transaction are never credited: the worker reads its
inputs `read_committed` even though it runs at-least-once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from live_worker import TopicReader, WorkerProcess, free_port
from test_live_worked_examples import PROGRAM, sale

pytestmark = pytest.mark.integration


def test_a_receipt_of_an_aborted_transaction_earns_nothing(
    tierflow_settings: Any, tmp_path: Path
) -> None:
    from confluent_kafka import Producer

    from schemas.codec import Codec

    settings = tierflow_settings(program=PROGRAM)
    worker = WorkerProcess(
        settings, free_port(), tmp_path / "data", tmp_path / "worker.log"
    ).start()
    reader = TopicReader(settings, ("ledger",))
    codec = Codec()
    topic = settings.topic("receipts")
    try:
        worker.wait_ready()
        producer = Producer(
            settings.kafka_client_config()
            | {"transactional.id": f"pos-{settings.topic_prefix}", "partitioner": "murmur2_random"}
        )
        producer.init_transactions(30)
        producer.begin_transaction()
        producer.produce(topic, codec.encode(sale("M-TX", "R-ABORTED", 3, 15, "50.00")), b"M-TX")
        producer.flush(30)
        producer.abort_transaction(30)
        producer.begin_transaction()
        producer.produce(topic, codec.encode(sale("M-TX", "R-COMMITTED", 3, 16, "20.00")), b"M-TX")
        producer.commit_transaction(30)
        reader.until(lambda got: any(e["receipt_id"] == "R-COMMITTED" for e in got["ledger"]))
        reader.settle(quiet=2.0)
    finally:
        worker.stop()
        reader.close()

    credited = [(e["receipt_id"], e["points"]) for e in reader.records["ledger"]]
    assert credited == [("R-COMMITTED", 20)]
