"""Daily review ticks: one message per partition of `loyalty.review-ticks` per local date.

The leader worker's timer publishes the current local date of the program timezone; the
`tierflow review --date D` command publishes a given date (tests and the demo put ticks at a
known point of the log). The member agent consumes them; a timer never writes the table.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from agents.rules.program import Program
from streams.settings import Settings

log = logging.getLogger("tierflow.agents.ticks")


def tick_messages(codec: Any, settings: Settings, review_date: date) -> list[tuple[int, bytes]]:
    """(partition, encoded tick) for every partition of the review-ticks topic."""
    from schemas.records import ReviewTickMessage

    published_at = datetime.now(UTC)
    return [
        (partition, codec.encode(ReviewTickMessage(review_date, partition, published_at)))
        for partition in range(settings.partitions)
    ]


def publish_review_ticks(settings: Settings, review_date: date, timeout: float = 30.0) -> int:
    """Publish the ticks of `review_date` with a plain producer; returns how many."""
    from confluent_kafka import Producer

    from schemas.codec import Codec

    codec = Codec(schema_registry_url=settings.schema_registry_url)
    producer = Producer({**settings.kafka_client_config(), "enable.idempotence": True})
    failures: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(str(error))

    topic = settings.topic("review_ticks")
    messages = tick_messages(codec, settings, review_date)
    for partition, value in messages:
        producer.produce(topic, value=value, partition=partition, on_delivery=delivered)
    remaining = producer.flush(timeout)
    if remaining or failures:
        raise RuntimeError(
            f"review ticks for {review_date} not all delivered to {topic}: "
            f"{remaining} pending, errors {failures[:3]}"
        )
    return len(messages)


def register_review_timer(app: Any, settings: Settings, program: Program) -> None:
    """The leader's timer: publish today's ticks when the local date changes.

    It also publishes once at start (after a restart the date may have changed while no
    worker ran); a repeated tick changes nothing, as each (member, date) is reviewed once.
    """
    if not settings.review_timer:
        return
    from schemas.codec import Codec

    codec = Codec(schema_registry_url=settings.schema_registry_url)
    ticks_topic = app.topic(
        settings.topic("review_ticks"),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    published: set[date] = set()

    @app.timer(settings.review_interval, on_leader=True, name="tierflow.review_timer")
    async def publish_today() -> None:
        today = datetime.now(program.zone).date()
        if today in published:
            return
        for partition, value in tick_messages(codec, settings, today):
            await ticks_topic.send(value=value, partition=partition)
        published.add(today)
        log.info("review_ticks_published review_date=%s partitions=%d", today, settings.partitions)
