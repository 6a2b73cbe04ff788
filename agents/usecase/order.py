"""The one order rule of inputs, for the live worker and the offline replay alike.

A member's inputs come on three topics. Within a topic partition they are applied in log
order. Across the topics of one partition they are merged by record timestamp (producers
stamp `occurred_at`), ties broken by the topic's rank (`INPUT_KINDS`: receipts, member
events, review ticks): the merge repeatedly takes, of the topics' next records, the one with
the lowest (timestamp, rank). The worker's aligner (agents/worker/alignment.py) applies it as
records arrive; the replay applies it to a file, each topic's records in file order.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from agents.rules.events import MemberEvent, Receipt
from agents.usecase.inputs import INPUT_KINDS, InputMessage

T = TypeVar("T")
RANK = {kind: rank for rank, kind in enumerate(INPUT_KINDS)}


def record_timestamp(message: Receipt | MemberEvent) -> int:
    """The record timestamp an input is published with: its business time (`occurred_at`),
    in ms since the epoch. tierflow's producers stamp it; POS and CRM producers must too."""
    return int(message.occurred_at.timestamp() * 1000)


def order_key(message: InputMessage) -> tuple[int, int]:
    return (message.timestamp, RANK[message.kind])


def merge_in_order(
    queues: Iterable[Sequence[T]], key: Callable[[T], tuple[int, int]]
) -> Iterator[T]:
    """The topics' queues of one partition merged by the rule: each queue keeps its own
    order, and of the queues' heads the one with the lowest `key` goes first. (heapq.merge
    compares heads only, so a queue whose timestamps go backwards still keeps its order.)"""
    return heapq.merge(*queues, key=key)


def in_apply_order(messages: Iterable[InputMessage]) -> Iterator[InputMessage]:
    """A whole history in the order the worker applies it: per partition, each topic's
    messages in their given order, merged by `merge_in_order`."""
    queues: dict[int, dict[str, list[InputMessage]]] = defaultdict(lambda: defaultdict(list))
    for message in messages:
        queues[message.partition][message.kind].append(message)
    for partition in sorted(queues):
        yield from merge_in_order(queues[partition].values(), order_key)
