"""The checkpoint commits a batch in one order (outputs acknowledged, then member records,
then input offsets), only in its own epoch, and a revoke waits for the batch under way."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import pytest

from agents.usecase import BatchResult, MemberRecord, OutgoingMessage
from agents.worker.checkpoint import Checkpoint


class Journal:
    """Fakes of the worker's ports, writing what happens, in order, to one list."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.epoch = 0
        self.gate: asyncio.Event | None = None  # outputs wait on it when set
        self.commit_answer = True

    async def send(self, messages: Sequence[OutgoingMessage]) -> None:
        self.steps.append(f"send {len(messages)}")
        if self.gate is not None:
            await self.gate.wait()
        self.steps.append("acked")

    async def write(self, rows: Sequence[tuple[int, bytes, bytes]]) -> None:
        self.steps.append("records " + ",".join(key.decode() for _p, key, _v in rows))

    async def commit(self, offsets: Mapping[tuple[str, int], int], epoch: int) -> bool:
        self.steps.append(f"commit {dict(offsets)}@{epoch}")
        return self.commit_answer


def result(*members: str) -> BatchResult:
    batch = BatchResult()
    for member in members:
        batch.outgoing.append(OutgoingMessage("ledger", member.encode(), b"entry"))
        batch.records[member] = (0, MemberRecord(state=None))
    return batch


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def checkpoint(journal: Journal, interval: float = 0.0, clock: Clock | None = None) -> Checkpoint:
    return Checkpoint(journal, journal, journal, interval, clock or Clock())


def test_outputs_are_acknowledged_before_records_and_records_before_offsets() -> None:
    journal = Journal()
    point = checkpoint(journal)

    async def run() -> bool:
        done = await point.commit(result("M1", "M2"), {("r", 0): 8}, 0)
        await point.flush(0, force=True)  # the commit started in the background is done
        return done

    assert asyncio.run(run())
    assert journal.steps == ["send 2", "acked", "records M1,M2", "commit {('r', 0): 8}@0"]


def test_a_batch_of_an_ended_epoch_does_nothing() -> None:
    journal = Journal()
    journal.epoch = 3  # a rebalance began after the batch was read in epoch 2
    done = asyncio.run(checkpoint(journal).commit(result("M1"), {("r", 0): 8}, 2))
    assert not done and journal.steps == []


def test_offsets_wait_for_the_commit_interval_and_go_with_a_later_flush() -> None:
    journal, clock = Journal(), Clock()
    point = checkpoint(journal, interval=1.0, clock=clock)

    async def run() -> None:
        await point.commit(result("M1"), {("r", 0): 5}, 0)
        await point.commit(result("M2"), {("r", 0): 7, ("e", 0): 2}, 0)
        assert not any(step.startswith("commit") for step in journal.steps)
        await point.flush(0)  # still too early
        clock.now += 1.0
        await point.flush(0)
        await point.flush(0, force=True)

    asyncio.run(run())
    assert journal.steps[-1] == "commit {('r', 0): 7, ('e', 0): 2}@0"


def test_offsets_of_an_ended_epoch_are_never_committed() -> None:
    journal, clock = Journal(), Clock()
    point = checkpoint(journal, interval=10.0, clock=clock)

    async def run() -> None:
        await point.commit(result("M1"), {("r", 0): 5}, 0)
        journal.epoch = 1
        await point.flush(0, force=True)

    asyncio.run(run())
    assert not any(step.startswith("commit") for step in journal.steps)


def test_a_revoke_waits_for_the_batch_between_its_first_and_third_steps() -> None:
    journal = Journal()
    point = checkpoint(journal)

    async def run() -> None:
        journal.gate = asyncio.Event()
        batch = asyncio.create_task(point.commit(result("M1"), {("r", 0): 1}, 0))
        await asyncio.sleep(0.01)  # the batch is waiting for its acknowledgements
        settled = asyncio.create_task(point.settle())
        await asyncio.sleep(0.01)
        assert not settled.done()
        journal.epoch = 1  # the revoke starts a new epoch, then waits
        journal.gate.set()
        await settled
        journal.steps.append("revoked")
        await batch

    asyncio.run(run())
    # The records were written before the revoke went on; the offsets, of an ended epoch, not.
    assert journal.steps == ["send 1", "acked", "records M1", "revoked"]


def test_an_output_that_is_not_delivered_stops_the_batch_before_its_records() -> None:
    journal = Journal()

    async def failing_send(messages: Sequence[OutgoingMessage]) -> None:
        raise RuntimeError("broker gone")

    journal.send = failing_send  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        asyncio.run(checkpoint(journal).commit(result("M1"), {("r", 0): 1}, 0))
    assert journal.steps == []


def test_offsets_a_commit_failed_for_are_committed_by_the_next_flush() -> None:
    journal, clock = Journal(), Clock()
    point = checkpoint(journal, interval=1.0, clock=clock)

    async def run() -> None:
        journal.commit_answer = False  # the group coordinator is away
        clock.now += 1.0
        await point.commit(result("M1"), {("r", 0): 5}, 0)
        await point.flush(0, force=True)  # waits for the failed one, then tries again
        journal.commit_answer = True
        clock.now += 1.0
        await point.flush(0, force=True)

    asyncio.run(run())
    commits = [step for step in journal.steps if step.startswith("commit")]
    assert commits[0] == "commit {('r', 0): 5}@0" and commits[-1] == commits[0]
    assert point.commits == 1 and point.failed_commits == len(commits) - 1 >= 1


def test_a_commit_that_never_answers_is_given_up_and_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("agents.worker.checkpoint.COMMIT_TIMEOUT", 0.05)
    journal = Journal()
    hang = asyncio.Event()
    answers = iter([False, True])

    async def commit(offsets: Mapping[tuple[str, int], int], epoch: int) -> bool:
        journal.steps.append(f"commit {dict(offsets)}@{epoch}")
        if next(answers) is False:
            await hang.wait()  # never set: the first commit hangs
        return True

    journal.commit = commit  # type: ignore[method-assign]
    point = checkpoint(journal)

    async def run() -> None:
        await point.commit(result("M1"), {("r", 0): 5}, 0)
        await point.flush(0, force=True)  # waits out the hung one (timed out), then again

    asyncio.run(run())
    assert [s for s in journal.steps if s.startswith("commit")] == ["commit {('r', 0): 5}@0"] * 2
    assert (point.commits, point.failed_commits) == (1, 1)
