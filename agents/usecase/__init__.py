"""The use case, written once for the live worker and the offline replay: an ordered run of
input messages applied to the members they concern.

Each input is decoded and checked (`schemas`), addressed (its key and partition are its
member's), applied by the rules core (`agents.rules.apply`), and turned into outgoing
messages: ledger entries, tier changes, notifications, member snapshots, and a dead letter
for anything refused. No Kafka here: the worker (`agents.worker`) and `tierflow replay`
(`streams.offline.replay`) feed messages in and ship what comes out.
"""

from agents.usecase.batch import BatchResult, MemberBatch, refused_input
from agents.usecase.inputs import (
    INPUT_KINDS,
    MEMBER_EVENTS,
    RECEIPTS,
    REVIEW_TICKS,
    InputMessage,
    OutgoingMessage,
    partition_of,
)
from agents.usecase.member_record import MemberRecord
from agents.usecase.order import in_apply_order, merge_in_order
from agents.usecase.review_index import ReviewIndex

__all__ = [
    "INPUT_KINDS",
    "MEMBER_EVENTS",
    "RECEIPTS",
    "REVIEW_TICKS",
    "BatchResult",
    "InputMessage",
    "MemberBatch",
    "MemberRecord",
    "OutgoingMessage",
    "ReviewIndex",
    "in_apply_order",
    "merge_in_order",
    "partition_of",
    "refused_input",
]
