"""Reading a member state written in format 2 (before msgspec): changelogs still hold them.

Format 2 was one msgpack list: [2, member_id, tier, status, enrolled_at as epoch
microseconds, name, email, phone, consents (bit 0 email, bit 1 SMS), balance, the three
dates as ordinals, qualifying and lots as [ordinal, points, ...], receipts as [id, record
without its trailing defaults, ...], pending returns as lists, member events as [id,
fingerprint, day, ...], campaign totals and entry-bonus dates as [key, value, ...]].
Nothing writes it any more; `MemberState.to_bytes` writes format 3.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import starmap
from typing import Any

import msgpack

from agents.rules.events import LineItem, Receipt, ReceiptKind
from agents.rules.state import MemberState, MemberStatus, ReceiptRecord, SeenEvent

FORMAT = 2
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def state_from_format2(data: bytes) -> MemberState:
    record: tuple[Any, ...] = msgpack.unpackb(data, raw=False, use_list=False)
    if record[0] != FORMAT:
        raise ValueError(f"member state format {record[0]} is neither 2 nor 3")
    consents = record[8]
    pending = [_receipt_from(item) for item in record[16]]
    return MemberState(
        member_id=record[1],
        tier=record[2],
        status=MemberStatus(record[3]),
        enrolled_at=_moment_from(record[4]),
        name=record[5],
        email=record[6],
        phone=record[7],
        consent_email=bool(consents & 1),
        consent_sms=bool(consents & 2),
        balance=record[9],
        reviewed_through=_day_from(record[10]),
        hold_until=_day_from(record[11]),
        next_step_on=_day_from(record[12]),
        qualifying=_days_from(record[13]),
        lots=_days_from(record[14]),
        receipts=dict(zip(record[15][::2], starmap(ReceiptRecord, record[15][1::2]), strict=True)),
        pending_returns={receipt.receipt_id: receipt for receipt in pending},
        member_events={
            key: SeenEvent(fingerprint, day)
            for key, fingerprint, day in zip(
                record[17][::3], record[17][1::3], record[17][2::3], strict=True
            )
        },
        campaign_bonus=dict(zip(record[18][::2], record[18][1::2], strict=True)),
        tier_bonus_on=dict(
            zip(record[19][::2], map(date.fromordinal, record[19][1::2]), strict=True)
        ),
    )


def _moment_from(micros: int | None) -> datetime | None:
    return None if micros is None else _EPOCH + timedelta(microseconds=micros)


def _day_from(ordinal: int | None) -> date | None:
    return None if ordinal is None else date.fromordinal(ordinal)


def _days_from(flat: tuple[int, ...]) -> dict[date, int]:
    return dict(zip(map(date.fromordinal, flat[::2]), flat[1::2], strict=True))


def _receipt_from(item: tuple[Any, ...]) -> Receipt:
    occurred_at = _moment_from(item[3])
    assert occurred_at is not None
    return Receipt(
        receipt_id=item[0],
        member_id=item[1],
        store_id=item[2],
        occurred_at=occurred_at,
        currency=item[4],
        kind=ReceiptKind(item[5]),
        lines=tuple(
            LineItem(sku, category, quantity, Decimal(unit_price), Decimal(amount))
            for sku, category, quantity, unit_price, amount in item[6]
        ),
        total=Decimal(item[7]),
        terminal_id=item[8],
        original_receipt_id=item[9],
    )
