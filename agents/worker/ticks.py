"""Daily review ticks: one message per partition of `loyalty.review-ticks` per local date.

The leader worker's timer publishes the current local date of the program timezone;
`tierflow review --date D` publishes a given date (tests and the demo put ticks at a known
point of the log). The worker consumes them like any input; a timer never writes the table.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from schemas.codec import Codec
from schemas.records import ReviewTickMessage

log = logging.getLogger("tierflow.worker.ticks")


def tick_messages(codec: Codec, partitions: int, review_date: date) -> list[tuple[int, bytes]]:
    """(partition, encoded tick) for every partition of the review-ticks topic."""
    published_at = datetime.now(UTC)
    return [
        (partition, codec.encode(ReviewTickMessage(review_date, partition, published_at)))
        for partition in range(partitions)
    ]


def register_review_timer(
    app: Any, codec: Codec, topic: str, partitions: int, zone: ZoneInfo, interval: float
) -> None:
    """The leader's timer: publish today's ticks when the local date changes.

    It also publishes once at start (after a restart the date may have changed while no
    worker ran); a repeated tick changes nothing, as each (member, date) is reviewed once.
    """
    ticks_topic = app.topic(
        topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    published: set[date] = set()

    @app.timer(interval, on_leader=True, name="tierflow.review_timer")
    async def publish_today() -> None:
        today = datetime.now(zone).date()
        if today in published:
            return
        for partition, value in tick_messages(codec, partitions, today):
            await ticks_topic.send(value=value, partition=partition)
        published.add(today)
        log.info("review_ticks_published review_date=%s partitions=%d", today, partitions)
