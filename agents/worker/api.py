"""The member lookup API on Faust's web server: `GET /members/{member_id}`.

Faust's table routing sends the request to the worker that owns the member's partition; that
worker answers from its table with the core's `member_view` as of today's local date, once
the partition's table is recovered (before: 503 with Retry-After, never a partial member).
Personal data (name, email, phone, consents) only with `?include_personal=true`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from agents.rules.program import Program
from agents.usecase import MemberRecord, partition_of
from agents.worker.ports import MemberTable

log = logging.getLogger("tierflow.agents.api")

PUBLIC_FIELDS = (
    "member_id",
    "status",
    "tier",
    "multiplier",
    "balance",
    "qualifying_points",
    "next_tier",
    "points_to_next_tier",
    "points_at_risk_30d",
    "enrolled_at",
)
PERSONAL_FIELDS = ("name", "email", "phone", "consent_email", "consent_sms")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def member_document(member_id: str, view: Any, include_personal: bool) -> dict[str, Any]:
    """The JSON body of a member lookup, from the core's MemberView."""
    body: dict[str, Any] = {"member_id": member_id}
    for name in PUBLIC_FIELDS[1:]:
        if hasattr(view, name):
            body[name] = _plain(getattr(view, name))
    if include_personal:
        profile = getattr(view, "profile", None) or view
        body["personal"] = {
            name: _plain(getattr(profile, name))
            for name in PERSONAL_FIELDS
            if hasattr(profile, name)
        }
    return body


RETRY_AFTER = "2"  # seconds, for 503 answers


def register_member_api(
    app: Any,
    program: Program,
    table: Any,
    members: MemberTable,
    serving: Callable[[int], bool],
    partitions: int,
) -> None:
    """`table` is the Faust table (its router finds the owner); `members` reads it;
    `serving(partition)` says whether this worker's copy of a partition is recovered."""
    import aiohttp
    from faust.exceptions import SameNode
    from faust.web.exceptions import ServiceUnavailable

    from agents.rules import member_view

    @app.page("/members/{member_id}")
    async def member_lookup(view: Any, request: Any, member_id: str) -> Any:
        # What `app.table_route` does, plus a clean 503 while no owner is known: before the
        # first assignment the producer has no metadata for the changelog topic yet.
        try:
            return await app.router.route_req(table.name, member_id, view.web, request)
        except SameNode:
            pass
        except (ServiceUnavailable, KeyError, TypeError):
            return _unavailable(view, "not_ready", member_id)
        except (aiohttp.ClientError, OSError) as error:
            # The owner the assignment names is gone (it left, or a rebalance is under
            # way): the caller retries; no traceback per request in the log.
            log.warning("member_lookup_owner_unreachable member_id=%s error=%s", member_id, error)
            return _unavailable(view, "owner_unavailable", member_id)
        if not serving(partition_of(member_id.encode(), partitions)):
            return _unavailable(view, "recovering", member_id)
        raw = members.get(member_id)
        record = MemberRecord.from_bytes(raw) if raw is not None else None
        if record is None or record.state is None or not record.state.is_member:
            return view.json({"error": "unknown_member", "member_id": member_id}, status=404)
        include_personal = request.query.get("include_personal", "").lower() == "true"
        today = datetime.now(program.zone).date()
        body = member_document(
            member_id, member_view(record.state, program, today), include_personal
        )
        return view.json(body)


def _unavailable(view: Any, error: str, member_id: str) -> Any:
    return view.json(
        {"error": error, "member_id": member_id},
        status=503,
        headers={"Retry-After": RETRY_AFTER},
    )
