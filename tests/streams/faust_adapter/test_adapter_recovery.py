"""Table changelog records of recovering partitions are applied to the store in bulk, Faust's
recovery offsets follow, and recovery ends when they reach the highwaters."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from streams.faust_adapter.internals import BulkRecovery


class TP(NamedTuple):
    topic: str
    partition: int


@dataclass(frozen=True)
class Fetched:
    offset: int
    key: bytes | None
    value: bytes | None


class Store:
    def __init__(self) -> None:
        self.rows: dict[bytes, bytes] = {}
        self.persisted: dict[Any, int] = {}

    def apply_changelog_batch(self, batch: Any, to_key: Any, to_value: Any) -> None:
        for event in batch:
            if event.message.value is None:
                self.rows.pop(to_key(event.key), None)
            else:
                self.rows[to_key(event.key)] = to_value(event.value)
            self.persisted[event.message.tp] = event.message.offset


@dataclass
class Recovery:
    """The attributes of Faust's Recovery that the bulk path reads and advances."""

    active_tps: set[Any]
    standby_tps: set[Any]
    active_highwaters: dict[Any, int]
    active_offsets: Counter[Any] = field(default_factory=Counter)
    standby_offsets: Counter[Any] = field(default_factory=Counter)
    in_recovery: bool = True
    flushed: bool = False
    signal_recovery_end: asyncio.Event = field(default_factory=asyncio.Event)

    def need_recovery(self) -> bool:
        return any(self.active_offsets[tp] < hw for tp, hw in self.active_highwaters.items())

    def flush_buffers(self) -> None:
        self.flushed = True

    def _set_recovery_ended(self) -> None:
        self.in_recovery = False


def bulk(recovery: Recovery, store: Store) -> BulkRecovery:
    table = type("Table", (), {"data": store})()
    app = type("App", (), {"tables": type("Tables", (), {"recovery": recovery})()})()
    return BulkRecovery(app, {"changelog": table})


async def _woken(event: asyncio.Event, action: Any) -> bool:
    """Whether a task waiting on `event` (as Faust's recovery does) is woken by `action`."""
    waiter = asyncio.ensure_future(event.wait())
    await asyncio.sleep(0)
    action()
    await asyncio.sleep(0)
    woken = waiter.done()
    waiter.cancel()
    return woken


def test_recovering_records_go_to_the_store_and_recovery_ends_at_the_highwater() -> None:
    asyncio.run(_recovery_ends_at_the_highwater())


async def _recovery_ends_at_the_highwater() -> None:
    active, standby = TP("changelog", 0), TP("changelog", 1)
    recovery = Recovery({active}, {standby}, {active: 2})
    recovery.active_offsets[active] = -1
    store = Store()
    records = {
        active: [Fetched(0, b"M1", b"one"), Fetched(1, b"M2", b"two")],
        standby: [Fetched(5, b"M9", b"nine")],
        TP("inputs", 0): [Fetched(0, b"M1", b"receipt")],
    }
    rest = bulk(recovery, store).take(records)
    assert list(rest) == [TP("inputs", 0)]  # not a table's changelog: Faust's as before
    assert store.rows == {b"M1": b"one", b"M2": b"two", b"M9": b"nine"}
    assert recovery.active_offsets[active] == 1 and recovery.standby_offsets[standby] == 5
    assert recovery.in_recovery  # offset 2 is still to come

    last = {active: [Fetched(1, b"M2", b"two"), Fetched(2, b"M1", None)]}
    assert await _woken(recovery.signal_recovery_end, lambda: bulk(recovery, store).take(last))
    assert store.rows == {b"M2": b"two", b"M9": b"nine"}  # the tombstone deleted M1
    assert recovery.active_offsets[active] == 2
    assert not recovery.in_recovery and recovery.flushed
    # Left set for a recovery not waiting yet; the next rebalance clears it, or it would end
    # the next recovery before that read a record.
    assert recovery.signal_recovery_end.is_set()
    bulk(recovery, store).revoke()
    assert not recovery.signal_recovery_end.is_set()


def test_recovery_does_not_end_before_faust_knows_every_partition_s_highwater() -> None:
    """A rebalance hands over partition 4: Faust marks its recovery started, then asks the
    broker for the highwaters. A changelog record of partition 0, fetched meanwhile, must not
    end the recovery for lack of a highwater of partition 4 (it would never be read)."""
    kept, handed_over = TP("changelog", 0), TP("changelog", 4)
    recovery = Recovery({kept, handed_over}, set(), {})  # highwaters dropped at revocation
    store = Store()
    bulk(recovery, store).take({kept: [Fetched(9, b"M1", b"one")]})
    assert store.rows == {b"M1": b"one"} and recovery.in_recovery
    assert not recovery.flushed and not recovery.signal_recovery_end.is_set()

    recovery.active_highwaters.update({kept: 9, handed_over: 1})  # measured: 4 has a record
    recovery.active_offsets[handed_over] = -1
    bulk(recovery, store).take({handed_over: [Fetched(0, b"M4", b"four")]})
    assert recovery.in_recovery  # offset 1 of partition 4 is still to come
    bulk(recovery, store).take({handed_over: [Fetched(1, b"M5", b"five")]})
    assert not recovery.in_recovery and store.rows.keys() == {b"M1", b"M4", b"M5"}


def test_changelog_records_of_an_active_partition_after_recovery_stay_faust_s() -> None:
    active = TP("changelog", 3)
    recovery = Recovery({active}, set(), {active: 0}, in_recovery=False)
    store = Store()
    rest = bulk(recovery, store).take({active: [Fetched(7, b"M1", b"x")]})
    assert list(rest) == [active] and store.rows == {}
