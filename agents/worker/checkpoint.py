"""What commits together for one batch of member inputs, and in which order.

The live path is at-least-once with idempotent effects: a member's state takes each input
exactly once (its record names the last offset applied per input topic), outputs go out at
least once with stable ids (a consumer drops repeats by id), nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from agents.usecase import BatchResult
from agents.worker.ports import InputSource, MemberTable, Offsets, OutputSink

log = logging.getLogger("tierflow.worker.checkpoint")

COMMIT_TIMEOUT = 30.0  # seconds an input commit may take before it is tried again


class Checkpoint:
    """The one commit path of the worker.

    `commit(result, offsets, epoch)` runs these steps, in this order:

    1. Send every outgoing message of the batch (ledger entries, tier changes, notifications,
       member snapshots, dead letters), keyed by member id, in the order the rules made them.
    2. Wait until the broker has acknowledged all of them (acks=all).
    3. Write each touched member's record (its state and the input offsets applied to it):
       to the table's changelog, waiting for the broker's acknowledgement, then to the local
       store.
    4. Commit the batch's input offsets, in the background (the next batch does not wait for
       the broker): when `commit_interval` has passed since the last commit, else with a
       later batch or a pulse (`flush`). One commit is under way at a time.

    Steps 1-3 run under a lock, and only if the batch's epoch (its assignment) is still
    current when they begin; a rebalance's revoke waits for the lock (`settle`), so a member
    record is never written after its partition may have moved.

    What a crash leaves, and why it is safe:
    - before 2 ends: some outputs may be out, no record shows the batch; the inputs are read
      again, the rules run on the same states and send the same outputs with the same ids.
    - between 2 and 3 (or inside 3): the same, except that some member records already show
      the batch: those members skip the inputs (`skipped_repeats`), the others redo them.
    - between 3 and 4: every record shows the batch; the inputs read again are all skipped.
    No step loses an output, and no member takes an input twice.
    """

    def __init__(
        self,
        outputs: OutputSink,
        table: MemberTable,
        inputs: InputSource,
        commit_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.outputs = outputs
        self.table = table
        self.inputs = inputs
        self.commit_interval = commit_interval
        self.clock = clock
        self._lock = asyncio.Lock()
        self._pending: dict[tuple[str, int], int] = {}
        self._pending_epoch = -1
        self._committed_at = clock()
        self.batches = 0
        self.abandoned = 0  # batches a rebalance overtook before step 1
        self.commits = 0
        self.failed_commits = 0  # commits the broker refused or missed; retried
        self.last_commit = 0.0  # monotonic time of the last input commit
        self.last_commit_at = 0.0  # its Unix time (0: none yet)
        self.commit_seconds = 0.0  # in steps 1-3
        self._committing: asyncio.Task[None] | None = None

    async def commit(self, result: BatchResult, offsets: Offsets, epoch: int) -> bool:
        """Steps 1-4; False when the batch's epoch is over (nothing done)."""
        started = time.perf_counter()
        async with self._lock:
            if self.inputs.epoch != epoch:
                self.abandoned += 1
                return False
            await self.outputs.send(result.outgoing)
            await self.table.write(
                [
                    (partition, member_id.encode(), record.to_bytes())
                    for member_id, (partition, record) in result.records.items()
                ]
            )
            if self._pending_epoch != epoch:
                self._pending, self._pending_epoch = {}, epoch
            self._pending.update(offsets)
            self.batches += 1
        self.commit_seconds += time.perf_counter() - started
        await self.flush(epoch)
        return True

    async def flush(self, epoch: int, force: bool = False) -> None:
        """Step 4 for the offsets waiting, if they are due (or `force`) and still current:
        started in the background; with `force`, done before returning."""
        if self._committing is not None:
            if not force:
                return  # the commit under way is enough for now; the next flush follows
            await asyncio.shield(self._committing)
        if not self._pending or self._pending_epoch != epoch or self.inputs.epoch != epoch:
            return
        if not force and self.clock() - self._committed_at < self.commit_interval:
            return
        offsets, self._pending = self._pending, {}
        self._committed_at = self.clock()
        task = asyncio.ensure_future(self._commit(offsets, epoch))
        self._committing = task
        task.add_done_callback(self._committed)
        if force:
            await asyncio.shield(task)

    def _committed(self, task: asyncio.Task[None]) -> None:
        if self._committing is task:
            self._committing = None

    async def _commit(self, offsets: Offsets, epoch: int) -> None:
        try:
            done = await asyncio.wait_for(self.inputs.commit(offsets, epoch), COMMIT_TIMEOUT)
        except TimeoutError:
            # A commit that never answers must not hold back every later one.
            log.warning("input_commit_timed_out epoch=%d seconds=%.0f", epoch, COMMIT_TIMEOUT)
            done = False
        except Exception:  # the next flush tries again; a broken consumer stops Faust itself
            log.exception("input_commit_failed epoch=%d partitions=%d", epoch, len(offsets))
            done = False
        if done:
            self.commits += 1
            self.last_commit = self._committed_at
            self.last_commit_at = time.time()
            return
        # Not committed (the broker or the group coordinator away): the offsets wait for the
        # next flush, unless a rebalance ended the epoch (then they are read again anyway).
        self.failed_commits += 1
        if self._pending_epoch == epoch:
            for tp, offset in offsets.items():
                self._pending[tp] = max(offset, self._pending.get(tp, offset))

    async def settle(self) -> None:
        """Wait until no batch is between steps 1 and 3 (a revoke, the worker's stop)."""
        async with self._lock:
            return
