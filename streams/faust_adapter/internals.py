"""The one module that relies on private names of Faust and aiokafka.

tierflow takes its input records from Faust's consumer right where aiokafka hands them over,
before Faust's per-message path (its streams, acknowledgements, gap bookkeeping and flow
control), and commits input offsets itself. That needs the names in `PRIVATE_NAMES`, all
overridden or set on tierflow's own subclasses (no Faust class is patched):

- `SiphonConsumer`, a subclass of Faust's aiokafka `Consumer`, installed on one app's
  transport (`install`). Its `_getmany` gives each fetch's input-topic records to the
  intake (streams/faust_adapter/intake.py) and the rest (changelog records during recovery,
  standbys) to Faust as before. Its `seek_to_committed` (public) reports the committed
  offsets Faust seeks the partitions to after each rebalance.
- `BulkRecovery`: the table changelog records of partitions Faust is recovering (or keeps
  as standbys) are applied to the table's store in bulk, with the store's public
  `apply_changelog_batch`, instead of one Faust event at a time (which recovered about 2,500
  member records a second here); Faust's recovery offsets are advanced to match, and its
  recovery ends the moment they reach the highwaters.
- `TunedConsumerThread`, a subclass of Faust's consumer thread. Its
  `_create_worker_consumer` sets two things Faust does not expose on the aiokafka consumer
  before it starts: `read_committed` (Faust picks it only under exactly-once, so records of
  aborted transactions would otherwise be read) and the fetch wait (Faust fixes 1.5 s).

`check_internals()` runs when a worker app is built: if a faust-streaming or aiokafka
upgrade removed one of these names, the worker refuses to start with an error naming it,
instead of misbehaving silently.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as FaustAIOKafkaConsumer

from streams.faust_adapter.table import apply_events, changelog_event

# The versions these names were read in and tested against (pyproject.toml pins them).
VERIFIED_WITH = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0", "mode-streaming": "0.7.1"}


@dataclass(frozen=True, slots=True)
class PrivateName:
    owner: str  # module:Class
    name: str
    use: str
    instance: bool = False  # an attribute of instances (checked on the instance, when used)


PRIVATE_NAMES = (
    PrivateName(
        "faust.transport.consumer:ThreadDelegateConsumer",
        "_getmany",
        "overridden: every fetch's records pass here; input records are taken out",
    ),
    PrivateName(
        "faust.transport.drivers.aiokafka:Consumer",
        "_new_consumer_thread",
        "overridden: the consumer thread is tierflow's subclass, kept for commits",
    ),
    PrivateName(
        "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread",
        "_create_worker_consumer",
        "overridden: tunes the aiokafka consumer before it starts",
    ),
    PrivateName(
        "faust.tables.recovery:Recovery",
        "_set_recovery_ended",
        "called: recovery ends as soon as the bulk-applied records reach the highwaters",
    ),
    PrivateName(
        "faust.tables.recovery:Recovery",
        "active_offsets, standby_offsets, active_tps, standby_tps, in_recovery",
        "read and advanced (undocumented attributes): what recovery has applied and has left",
        instance=True,
    ),
    PrivateName(
        "aiokafka.consumer.consumer:AIOKafkaConsumer",
        "_isolation_level",
        "set to read_committed before start() (the fetcher reads it there)",
        instance=True,
    ),
    PrivateName(
        "aiokafka.consumer.consumer:AIOKafkaConsumer",
        "_fetch_max_wait_ms",
        "set to TIERFLOW_FETCH_MAX_WAIT before start()",
        instance=True,
    ),
)


class FaustInternalsChanged(RuntimeError):
    """A private name tierflow relies on is gone: the installed Faust or aiokafka is not a
    version the adapter was verified with."""

    code = "faust_internals_changed"

    def __init__(self, owner: str, name: str) -> None:
        installed = ", ".join(f"{package} {_installed(package)}" for package in VERIFIED_WITH)
        verified = ", ".join(f"{package} {v}" for package, v in VERIFIED_WITH.items())
        super().__init__(
            f"{owner} has no attribute {name!r}: streams/faust_adapter/internals.py relies on "
            f"it and was verified with {verified}; installed: {installed}. Install the "
            "verified versions, or check each name in PRIVATE_NAMES against the new sources."
        )


def _installed(package: str) -> str:
    try:
        return version(package)
    except Exception:  # not installed under that name
        return "?"


def check_internals() -> None:
    """Fail with `FaustInternalsChanged` if a method tierflow overrides or calls is no longer
    defined where it was (an abstract one higher up does not count: Faust would not call it).
    Attributes of instances are checked where they are first used."""
    for private in PRIVATE_NAMES:
        if private.instance:
            continue
        module_name, class_name = private.owner.split(":")
        owner = getattr(importlib.import_module(module_name), class_name)
        if private.name not in vars(owner):
            raise FaustInternalsChanged(private.owner, private.name)


def _set_private(target: Any, name: str, value: Any) -> None:
    if not hasattr(target, name):
        raise FaustInternalsChanged(type(target).__module__ + ":" + type(target).__name__, name)
    setattr(target, name, value)


@dataclass(slots=True)
class ConsumerHooks:
    """What tierflow's consumer reports to, and how its aiokafka consumer is tuned."""

    # the intake's epoch (a rebalance starts a new one), read before each fetch
    epoch: Callable[[], int]
    # (records of one fetch by TP, the epoch before the fetch) -> the records Faust still sees
    take: Callable[[Mapping[Any, list[Any]], int], Mapping[Any, list[Any]]]
    # after each fetch: waits while the intake holds too much (back-pressure)
    room: Callable[[], Any]
    # Faust seeked the assigned partitions to these committed offsets (None: none committed)
    seeked: Callable[[Mapping[Any, int | None]], None]
    fetch_max_wait_ms: int
    read_committed: bool = True


class TunedConsumerThread(AIOKafkaConsumerThread):  # type: ignore[misc]
    hooks: ConsumerHooks

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        if self.hooks.read_committed:
            _set_private(consumer, "_isolation_level", "read_committed")
        _set_private(consumer, "_fetch_max_wait_ms", self.hooks.fetch_max_wait_ms)
        return consumer


class SiphonConsumer(FaustAIOKafkaConsumer):  # type: ignore[misc]
    """Faust's aiokafka consumer, with the input records taken at the fetch."""

    hooks: ConsumerHooks  # set on the subclass `install` makes for one app
    thread: TunedConsumerThread

    def _new_consumer_thread(self) -> TunedConsumerThread:
        thread = TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)
        thread.hooks = self.hooks
        self.thread = thread
        return thread

    async def _getmany(self, active_partitions: Any, timeout: float) -> Any:
        epoch = self.hooks.epoch()
        records = await super()._getmany(active_partitions, timeout)
        if records:
            records = self.hooks.take(records, epoch)
        await self.hooks.room()
        return records

    async def seek_to_committed(self) -> Mapping[Any, int]:
        offsets: Mapping[Any, int] = await super().seek_to_committed()
        self.hooks.seeked(offsets)
        return offsets

    async def commit_offsets(self, offsets: Mapping[Any, int]) -> bool:
        """Commit exactly these offsets (Faust's own commit works from acknowledgements,
        which tierflow's input topics do not use). The thread's `commit` ignores partitions
        no longer assigned, and returns False when the group has rebalanced meanwhile."""
        return bool(await self.thread.commit(offsets))


def install(app: Any, hooks: ConsumerHooks) -> None:
    """Make `app` build its consumer as a `SiphonConsumer` reporting to `hooks`. Call before
    the app starts (the consumer is created lazily, at the worker's start)."""
    check_internals()
    consumer_class = type("TierflowConsumer", (SiphonConsumer,), {"hooks": hooks})
    app.transport.Consumer = consumer_class


class BulkRecovery:
    """Applies the changelog records of recovering (and standby) table partitions in bulk."""

    def __init__(self, app: Any, tables: Mapping[str, Any]) -> None:
        self.app = app
        self.tables = tables  # changelog topic -> Faust table
        self.applied = 0  # changelog records applied here

    def take(self, records: Mapping[Any, list[Any]]) -> Mapping[Any, list[Any]]:
        recovery = self.app.tables.recovery
        rest: dict[Any, list[Any]] = {}
        applied = False
        for tp, batch in records.items():
            table = self.tables.get(tp.topic)
            if table is not None and recovery.in_recovery and tp in recovery.active_tps:
                offsets = recovery.active_offsets
            elif table is not None and tp in recovery.standby_tps:
                offsets = recovery.standby_offsets
            else:
                rest[tp] = batch
                continue
            seen = offsets.get(tp)
            fresh = [r for r in batch if seen is None or r.offset > seen]
            if fresh:
                apply_events(
                    table.data, [changelog_event(tp, r.offset, r.key, r.value) for r in fresh]
                )
                offsets[tp] = fresh[-1].offset
                self.applied += len(fresh)
                applied = True
        if (
            applied
            and recovery.in_recovery
            and _measured(recovery)
            and not recovery.need_recovery()
        ):
            # What Faust's own recovery loop does when the last record is in (left set until
            # the next rebalance's `revoke`, should Faust not be waiting for it yet).
            recovery.flush_buffers()
            recovery._set_recovery_ended()
            recovery.signal_recovery_end.set()
        return rest

    def revoke(self) -> None:
        """A rebalance begins: the end of the last recovery must not end the next one before
        it has read anything. (Faust's own loop clears the event only when a record or its
        5 s timeout next wakes it, and the changelog records come here instead.)"""
        self.app.tables.recovery.signal_recovery_end.clear()


def _measured(recovery: Any) -> bool:
    """Whether Faust has the highwater of every partition it recovers. It marks a recovery
    started before it asks the broker for them (and drops a partition's at revocation), and
    until then `need_recovery()` says False for the partitions it has not measured."""
    return all(tp in recovery.active_highwaters for tp in recovery.active_tps)


def recovery_remaining(app: Any) -> int:
    """Changelog records the app's tables still have to read before they are recovered."""
    recovery = app.tables.recovery
    return int(recovery.active_remaining_total()) if recovery.in_recovery else 0
