"""JSON Lines files for people (`tierflow produce`, `tierflow replay`): one message a line.

Same field names as the Avro schemas; money is a string ("12.50"; JSON numbers are read
exactly, never through float), times ISO 8601 with an offset. In a file that mixes them, a
receipt carries `"type": "receipt"` and a member event its own `type`. Lines are checked by
the pydantic models, i.e. by `schemas.checks`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from agents.rules.events import MemberEvent, MemberEventType, Receipt
from schemas.checks import CheckFailed
from schemas.codec import MAX_MESSAGE_BYTES
from schemas.errors import CodecError
from schemas.models import MemberEventModel, ReceiptModel
from schemas.records import MemberSnapshot

RECEIPT_TYPE: Final = "receipt"
_EVENT_TYPES: Final = frozenset(kind.value for kind in MemberEventType)
_MONEY_FIELDS: Final = frozenset({"unit_price", "amount", "total"})


def _validation_message(error: ValidationError) -> tuple[str, str | None]:
    """Up to three problems as 'field: reason; ...', and the first field to blame."""
    problems: list[str] = []
    fields: list[str] = []
    for detail in error.errors():
        cause = detail.get("ctx", {}).get("error")
        if isinstance(cause, CheckFailed):
            problems.append(str(cause))
            fields.append(cause.field)
            continue
        path = ""
        for part in detail["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        reason = str(detail["msg"]).removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            reason = "unknown key"
        problems.append(f"{path}: {reason}" if path else reason)
        fields.append(path)
    more = len(problems) - 3
    message = "; ".join(problems[:3]) + (f" (and {more} more)" if more > 0 else "")
    return message, (fields[0] or None) if fields else None


def parse_json_record(record: object) -> Receipt | MemberEvent:
    """A decoded JSON object -> a checked `Receipt` or `MemberEvent`, or `CodecError`."""
    if not isinstance(record, dict):
        raise CodecError("bad_json", f"expected a JSON object, got {type(record).__name__}")
    kind = record.get("type")
    try:
        if kind == RECEIPT_TYPE or (kind is None and "receipt_id" in record):
            body = {key: value for key, value in record.items() if key != "type"}
            try:
                return ReceiptModel.model_validate(body).to_core()
            except ValidationError as invalid:
                message, field = _validation_message(invalid)
                raise CodecError("invalid_receipt", message, field) from None
        if isinstance(kind, str) and kind in _EVENT_TYPES:
            try:
                return MemberEventModel.model_validate(record).to_core()
            except ValidationError as invalid:
                message, field = _validation_message(invalid)
                raise CodecError("invalid_member_event", message, field) from None
    except RecursionError:
        raise CodecError("bad_json", "nested too deeply") from None
    raise CodecError(
        "unknown_type",
        f"type {kind!r} names no message; use 'receipt' or a member event type "
        f"({', '.join(sorted(_EVENT_TYPES))})",
        "type",
    )


def parse_json_line(line: str) -> Receipt | MemberEvent:
    """One line of a JSON Lines file -> a checked message, or `CodecError`."""
    if len(line) > MAX_MESSAGE_BYTES:
        raise CodecError("message_too_large", f"a {len(line)}-character line; at most 1 MiB")
    try:
        record = json.loads(line, parse_float=Decimal)
    except (ValueError, RecursionError) as bad:
        raise CodecError("bad_json", f"not JSON: {bad}") from None
    return parse_json_record(record)


def read_jsonl(path: Path | str) -> Iterator[tuple[int, Receipt | MemberEvent | CodecError]]:
    """(line number from 1, message or the line's `CodecError`) for each non-blank line.

    A bad line does not stop the file: callers dead-letter the error and go on.
    """
    with Path(path).open(encoding="utf-8", errors="strict") as lines:
        number = 0
        while True:
            number += 1
            try:
                line = lines.readline()
            except UnicodeDecodeError as bad:
                yield number, CodecError("bad_json", f"not UTF-8: {bad}")
                return  # the decoder's position is lost: nothing after it can be trusted
            if not line:
                return
            if line.isspace():
                continue
            try:
                yield number, parse_json_line(line)
            except CodecError as error:
                yield number, error


def _json_value(name: str, value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return f"{value:.2f}" if name in _MONEY_FIELDS else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, tuple | list):
        return [_json_object(item) for item in value]
    return value


def _json_object(obj: Any) -> dict[str, Any]:
    if not is_dataclass(obj):
        raise CodecError("unencodable", f"no JSON form for a {type(obj).__name__}")
    result: dict[str, Any] = {}
    for field in fields(obj):
        value = getattr(obj, field.name)
        if value is not None:
            result[field.name] = _json_value(field.name, value)
    return result


def to_json_dict(obj: object) -> dict[str, Any]:
    """The JSON form of a message: a receipt gains `"type": "receipt"`; None fields are left out.

    Bytes (dead letters' key and payload) are base64.
    """
    if isinstance(obj, Receipt):
        return {"type": RECEIPT_TYPE, **_json_object(obj)}
    if isinstance(obj, MemberSnapshot):  # flat, like its Avro record
        return {**_json_object(obj.view), "updated_at": obj.updated_at.isoformat()}
    return _json_object(obj)


def to_json_line(obj: object) -> str:
    """One line (without the newline) for `obj`."""
    return json.dumps(to_json_dict(obj), ensure_ascii=False, separators=(",", ":"))


def write_jsonl(path: Path | str, objs: Iterable[object]) -> int:
    """Write one line per message; returns how many were written."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as out:
        for obj in objs:
            out.write(to_json_line(obj))
            out.write("\n")
            count += 1
    return count
