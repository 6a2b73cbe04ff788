"""Log lines for log shippers: one JSON object per line with stable keys, the event and its
key=value fields split out; the default stays key=value text for people."""

from __future__ import annotations

import json
import logging

from streams.logs import JsonFormatter, logging_config


def record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("tierflow.worker", logging.INFO, __file__, 1, message, args, None)


def test_a_key_value_message_becomes_an_event_with_fields() -> None:
    line = JsonFormatter().format(record("member_worker batches=%d rate_per_s=%.0f", 12, 3400.4))
    body = json.loads(line)
    assert set(body) == {"ts", "level", "logger", "pid", "message", "event", "fields"}
    assert body["event"] == "member_worker"
    assert body["fields"] == {"batches": "12", "rate_per_s": "3400"}
    assert (body["level"], body["logger"]) == ("INFO", "tierflow.worker")


def test_the_sinks_event_key_value_messages_split_the_same_way() -> None:
    body = json.loads(JsonFormatter().format(record("event=assigned partitions=%d", 8)))
    assert (body["event"], body["fields"]) == ("assigned", {"partitions": "8"})
    bare = json.loads(JsonFormatter().format(record("event=stopping")))
    assert (bare["event"], bare["fields"]) == ("stopping", {})


def test_any_other_message_keeps_its_text_and_the_stable_keys() -> None:
    body = json.loads(JsonFormatter().format(record("Recovery complete")))
    assert body["message"] == "Recovery complete" and "event" not in body


def test_text_is_the_default_and_json_is_asked_for() -> None:
    assert "format" in logging_config("text", "info")["formatters"]["tierflow"]
    assert logging_config("json", "info")["formatters"]["tierflow"]["()"] is JsonFormatter
