"""A second worker joins in the middle of a stream and the first leaves later: the members'
state moves through the table's changelog, the sink's ledger still equals the offline
replay, and the member API answers throughout but for a short move, which is measured."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from live_worker import WorkerProcess, runs_read_from_broker
from pipeline import (
    PROGRAM,
    Pipeline,
    compare_stores,
    offline_store,
    poll,
    produce,
    publish_review,
    record,
    topic_messages,
    workload,
)

from agents.rules.events import MemberEventType

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.slow]

RECEIPTS = 20_000
PROBED_MEMBERS = 16
LONGEST_ALLOWED_GAP = 60.0  # seconds a member may go unanswered while partitions move


@dataclass
class ApiProbe:
    """Asks the running workers for a few members, round robin, until stopped; keeps
    (time, member, answered) per request. A 404 for an enrolled member counts as no answer."""

    run: Pipeline
    members: list[str]
    answers: list[tuple[float, str, bool]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # why each unanswered request failed
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        turn = 0
        while not self.stopping.is_set():
            workers = [w for w in self.run.running_workers() if w not in self.run.retired]
            member = self.members[turn % len(self.members)]
            answered = False
            if workers:
                worker: WorkerProcess = workers[turn % len(workers)]
                try:
                    status, body = worker.get(f"/members/{member}")
                    answered = status == 200
                    why = f"{status} {body[:80]!r}"
                except OSError as error:
                    answered, why = False, repr(error)
                if not answered:
                    self.failures.append(f"{member} from worker {worker.web_port}: {why}")
            self.answers.append((time.monotonic(), member, answered))
            turn += 1
            self.stopping.wait(0.1)

    def longest_gap(self) -> float:
        """The longest time any member went from a failed request to its next answer."""
        longest = 0.0
        for member in self.members:
            failing_since = None
            for at, who, answered in self.answers:
                if who != member:
                    continue
                if not answered and failing_since is None:
                    failing_since = at
                elif answered and failing_since is not None:
                    longest = max(longest, at - failing_since)
                    failing_since = None
            if failing_since is not None:  # never answered again: the whole rest of the run
                longest = max(longest, self.answers[-1][0] - failing_since)
        return longest


def test_a_worker_joining_and_one_leaving_mid_stream_keep_ledger_and_member_api(
    tierflow_settings: Any, tmp_path: Path
) -> None:
    load = workload(members=500, receipts=RECEIPTS, seed=33)
    enrolled = [e.member_id for e in load.events if e.type is MemberEventType.ENROLLED]
    members = list(dict.fromkeys(enrolled))[:PROBED_MEMBERS]
    settings = tierflow_settings(program=PROGRAM, review_timer=False)
    run = Pipeline.create(settings, tmp_path)
    probe = ApiProbe(run, members)
    try:
        first = run.start_worker()
        run.start_sink()
        produce(run.settings, load.events)
        run.wait_worker_caught_up()
        probe.thread.start()
        half = len(load.receipts) // 2
        produce(run.settings, load.receipts[:half])
        total = load.size
        poll(lambda: consumed(run, total) >= 0.25 * total, 300, "worker at 25%")
        joined_at = consumed(run, total)
        joined = time.monotonic()
        run.start_worker()
        # The rest goes in as the second worker joins: a fast first worker may have applied
        # all of the first half by then, and progress needs input to show.
        produce(run.settings, load.receipts[half:])
        poll(lambda: consumed(run, total) > joined_at, 300, "progress with two workers")
        join_seconds = time.monotonic() - joined
        poll(lambda: consumed(run, total) >= 0.6 * total, 300, "two workers at 60%")
        left_at = consumed(run, total)
        left = time.monotonic()
        run.stop_worker(first)
        poll(lambda: consumed(run, total) > left_at or run.worker_lag() == 0, 300, "one left")
        leave_seconds = time.monotonic() - left
        run.wait_worker_caught_up()
        ticks = publish_review(run.settings, load.review_date)
        run.wait_worker_caught_up()
        run.wait_sink_caught_up()
        probe.stopping.set()
        probe.thread.join(10)
        # Settled: the worker left running answers for every probed member.
        (last,) = [w for w in run.running_workers() if w not in run.retired]
        at_the_end = {member: last.get(f"/members/{member}") for member in members}
    finally:
        probe.stopping.set()
        if probe.thread.is_alive():
            probe.thread.join(10)
        run.stop_all()

    replay = offline_store(load, tmp_path / "offline.duckdb")
    result = compare_stores(run.settings.duckdb, tmp_path / "offline.duckdb")
    ledger_messages = topic_messages(run.settings, "ledger")
    failed = sum(not answered for _, _, answered in probe.answers)
    gap = probe.longest_gap()
    record(
        "rebalance (worker joins, worker leaves)",
        injected=2,
        messages_in=load.size + ticks,
        ledger_entries=result.compared["ledger"],
        offline_ledger_entries=replay.counts()["ledger"],
        ledger_messages=ledger_messages,
        repeated_outputs_absorbed=ledger_messages - result.compared["ledger"],
        missing=sum(result.missing.values()),
        extra=sum(result.extra.values()),
        duplicates=sum(result.duplicates.values()),
        join_progress_seconds=round(join_seconds, 1),
        leave_progress_seconds=round(leave_seconds, 1),
        api_requests=len(probe.answers),
        api_unanswered=failed,
        api_longest_gap_seconds=round(gap, 1),
        lost_on_the_way_read_from_broker=runs_read_from_broker(w.log_path for w in run.workers),
    )
    assert result.equal, result.summary()
    assert result.compared["ledger"] == replay.counts()["ledger"]
    assert probe.answers, "the member API was never asked"
    assert {m: status for m, (status, _) in at_the_end.items()} == dict.fromkeys(members, 200), (
        f"the member API must answer at the end: {at_the_end}; while the workers moved, "
        f"the last failures were {probe.failures[-5:]}"
    )
    assert gap <= LONGEST_ALLOWED_GAP


def consumed(run: Pipeline, total: int) -> int:
    """Inputs the worker group has committed (of `total` in the whole run)."""
    lag = run.worker_lag()
    if lag is None:
        return 0
    on_topics = sum(topic_messages(run.settings, name) for name in ("receipts", "member_events"))
    return min(on_topics - lag, total)
