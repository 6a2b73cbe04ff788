"""tierflow's loyalty rules: a pure core, `apply(state, event, program) -> (state, outputs)`."""

from agents.rules.apply import apply
from agents.rules.events import (
    Event,
    LineItem,
    MemberEvent,
    MemberEventType,
    Receipt,
    ReceiptKind,
    ReviewTick,
)
from agents.rules.outputs import (
    Channel,
    Direction,
    LedgerEntry,
    LedgerKind,
    Notification,
    Outputs,
    Rejection,
    TierChange,
)
from agents.rules.program import (
    Campaign,
    DowngradePolicy,
    Program,
    ProgramVersion,
    QualifyingBasis,
    Template,
    Templates,
    Tier,
)
from agents.rules.review import next_review_date
from agents.rules.state import MemberState, MemberStatus
from agents.rules.view import MemberView, member_view, snapshot_date

__all__ = [
    "Campaign",
    "Channel",
    "Direction",
    "DowngradePolicy",
    "Event",
    "LedgerEntry",
    "LedgerKind",
    "LineItem",
    "MemberEvent",
    "MemberEventType",
    "MemberState",
    "MemberStatus",
    "MemberView",
    "Notification",
    "Outputs",
    "Program",
    "ProgramVersion",
    "QualifyingBasis",
    "Receipt",
    "ReceiptKind",
    "Rejection",
    "ReviewTick",
    "Template",
    "Templates",
    "Tier",
    "TierChange",
    "apply",
    "member_view",
    "next_review_date",
    "snapshot_date",
]
