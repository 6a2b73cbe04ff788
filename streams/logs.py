"""How tierflow's services log: key=value lines for people (the default), or one JSON
object per line for log shippers (`TIERFLOW_LOG_FORMAT=json`).

A tierflow log message is an event name followed by key=value pairs
(`member_worker batches=12 inputs=3400 ...`); the JSON form keeps the whole message and
also splits it into `event` and `fields`, so a shipper can index `fields.rate_per_s`
without parsing. Keys are stable: `ts` (ISO 8601, UTC), `level`, `logger`, `pid`,
`message`, and, for messages of that shape, `event` and `fields` (values stay strings).
Log lines carry no personal data (member ids only).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s pid=%(process)d %(message)s"
# `name key=value ...` (the worker's shape) or `event=name key=value ...` (the sink's).
_EVENT = re.compile(
    r"^([a-z][a-z0-9_]*)((?: [a-z_][a-z0-9_]*=\S*)+)$"
    r"|^event=([a-z][a-z0-9_]*)((?: [a-z_][a-z0-9_]*=\S*)*)$"
)
_FIELD = re.compile(r" ([a-z_][a-z0-9_]*)=(\S*)")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": message,
        }
        shaped = _EVENT.match(message)
        if shaped:
            worker_shaped = shaped.group(1) is not None
            line["event"] = shaped.group(1) if worker_shaped else shaped.group(3)
            fields = shaped.group(2) if worker_shaped else shaped.group(4)
            line["fields"] = dict(_FIELD.findall(fields))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for a tierflow service (Faust's worker takes it too)."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter} if log_format == "json" else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"tierflow": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "tierflow"}},
        "root": {"handlers": ["console"], "level": level.upper()},
    }


def configure(log_format: str, level: str = "info") -> None:
    import logging.config

    logging.config.dictConfig(logging_config(log_format, level))
