"""Daily reviews on the live path: `tierflow review --date D` ticks every partition, the
members due are reviewed, the same tick twice changes nothing; the leader's timer publishes
today's local date."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from live_worker import TIERFLOW, TopicReader, WorkerProcess, free_port, settings_env, wait_consumed
from test_live_worked_examples import PROGRAM, enrolled, qualifying_adjustment

from streams.program import load_program

pytestmark = pytest.mark.integration


def review(settings: Any, day: str) -> None:
    import os

    subprocess.run(
        [str(TIERFLOW), "review", "--date", day],
        env=os.environ | settings_env(settings),
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_a_review_tick_downgrades_due_members_once_and_the_timer_ticks_today(
    tierflow_settings: Any, tmp_path: Path
) -> None:
    from streams.broker.producer import LoyaltyProducer

    settings = tierflow_settings(program=PROGRAM, review_interval=1.0)
    worker = WorkerProcess(
        settings,
        free_port(),
        tmp_path / "data",
        tmp_path / "worker.log",
        extra_env={"TIERFLOW_REVIEW_TIMER": "true"},
    ).start()
    reader = TopicReader(settings, ("tier_changes", "review_ticks"))
    today = datetime.now(load_program(PROGRAM).zone).date().isoformat()
    try:
        worker.wait_ready()
        producer = LoyaltyProducer(settings)
        producer.send(enrolled("M-REVIEW", 2))
        producer.send(qualifying_adjustment("M-REVIEW", 2, 12_000))
        producer.flush()
        wait_consumed(settings, "member_events")
        review(settings, "2027-06-01")
        review(settings, "2027-06-01")

        def reviewed(got: dict[str, list[dict[str, Any]]]) -> bool:
            downs = [c for c in got["tier_changes"] if c["direction"] == "DOWN"]
            ticks = [t for t in got["review_ticks"] if str(t["review_date"]) == "2027-06-01"]
            timer = [t for t in got["review_ticks"] if str(t["review_date"]) == today]
            return bool(downs) and len(ticks) == 16 and len(timer) >= settings.partitions

        reader.until(reviewed, timeout=90)
        wait_consumed(settings, "review_ticks")
        reader.settle(quiet=2.0)
    finally:
        worker.stop()
        reader.close()

    changes = [
        (c["member_id"], c["from_tier"], c["to_tier"]) for c in reader.records["tier_changes"]
    ]
    assert changes == [("M-REVIEW", "Member", "Silver"), ("M-REVIEW", "Silver", "Member")]
    timer_ticks = [t for t in reader.records["review_ticks"] if str(t["review_date"]) == today]
    assert sorted({t["partition"] for t in timer_ticks}) == list(range(settings.partitions))
