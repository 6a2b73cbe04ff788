"""The messages the use case takes and gives: one input record of a topic, one output.

An input's `kind` names its contract topic (receipts, member events, review ticks); its
position in `INPUT_KINDS` is the topic's rank, which breaks ties of record timestamps
(agents/usecase/order.py).
"""

from __future__ import annotations

from typing import Final, NamedTuple

from aiokafka.partitioner import murmur2

from agents.rules.events import MemberEvent, Receipt

RECEIPTS: Final = "receipts"
MEMBER_EVENTS: Final = "member_events"
REVIEW_TICKS: Final = "review_ticks"
INPUT_KINDS: Final = (RECEIPTS, MEMBER_EVENTS, REVIEW_TICKS)


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a key: murmur2, as the Java client,
    aiokafka, and librdkafka's `murmur2_random` compute it."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class InputMessage(NamedTuple):
    """One input record. `value` is the record's bytes as they came; a file input of the
    replay comes already decoded and checked (`decoded`), with `value` None. (A named
    tuple: one is made per record, and a frozen dataclass costs three times as much.)"""

    kind: str  # RECEIPTS | MEMBER_EVENTS | REVIEW_TICKS
    topic: str
    partition: int
    offset: int
    timestamp: int  # the record timestamp, ms since the epoch (producers stamp occurred_at)
    key: bytes | None
    value: bytes | None
    decoded: Receipt | MemberEvent | None = None


class OutgoingMessage(NamedTuple):
    """A message to send, keyed by member id (a keyless dead letter has no key)."""

    topic: str  # contract name: "ledger", "tier_changes", "notifications", ...
    key: bytes | None
    value: bytes
