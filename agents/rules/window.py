"""Calendar arithmetic of the rolling window: whole months (end-of-month clamped), local days.

`add_months` and `first_counted` are remembered (bounded): the rules ask them about the same
few hundred dates on every event, and a date plus months never changes.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

ONE_DAY = timedelta(days=1)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_REMEMBERED = 1 << 16  # (date, months) pairs: years of dates x the few month counts in use


@lru_cache(maxsize=_REMEMBERED)
def add_months(day: date, months: int) -> date:
    """`day` plus calendar months; a day the target month lacks clamps to its last day.

    2024-02-29 + 12 months = 2025-02-28; 2024-01-31 + 1 month = 2024-02-29.
    """
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    day_of_month = day.day
    if day_of_month > 28:
        last = 29 if month_index == 1 and calendar.isleap(year) else _MONTH_DAYS[month_index]
        day_of_month = min(day_of_month, last)
    return date(year, month_index + 1, day_of_month)


@lru_cache(maxsize=_REMEMBERED)
def first_counted(day: date, months: int) -> date:
    """The earliest date E with E + months > `day`: what is older has left a `months` window.

    add_months is monotone, so "E + months <= day" holds exactly for the dates before this one,
    and "E + months > D" is "E >= first_counted(D, months)": a window test without arithmetic.
    """
    earliest = add_months(day, -months)
    while add_months(earliest, months) <= day:
        earliest += ONE_DAY
    return earliest


@lru_cache(maxsize=256)
def days_delta(count: int) -> timedelta:
    """`timedelta(days=count)`, built once per count: building one costs more than adding it."""
    return timedelta(days=count)


def leaves_window_on(earned_on: date, window_months: int) -> date:
    """The first local date on which points earned on `earned_on` no longer count."""
    return add_months(earned_on, window_months)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The UTC moment local day `day` begins.

    On a day whose midnight does not exist (America/Santiago jumps from 00:00 to 01:00 on
    2025-09-07) zoneinfo reads the missing midnight with the offset in force before the jump,
    which is exactly the first moment of the day that exists.
    """
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def review_date_of(effective_from: datetime) -> date:
    """The first daily review at or after a naive local moment: its date if it is a midnight."""
    if effective_from.time() == time(0):
        return effective_from.date()
    return effective_from.date() + ONE_DAY
