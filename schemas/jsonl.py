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
from dataclasses import dataclass, fields, is_dataclass
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
    for line in read_jsonl_lines(path):
        item = line.message if line.message is not None else line.error
        assert item is not None
        yield line.number, item


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
        if not field.init:
            continue  # derived by the codec (a receipt's fingerprint), not part of the message
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


@dataclass(frozen=True, slots=True)
class FileLine:
    """One non-blank line of a JSON Lines file, read: the message, or why not. A bad line
    keeps its text, and the member id and event time it names when they can be read."""

    number: int  # from 1
    text: str
    message: Receipt | MemberEvent | None
    error: CodecError | None
    member_id: str | None
    occurred_at: datetime | None


def _named(line: str) -> tuple[str | None, datetime | None]:
    """The member id and event time a bad line names, if it is a JSON object that has them."""
    try:
        record = json.loads(line, parse_float=Decimal)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(record, dict):
        return None, None
    member_id = record.get("member_id")
    member_id = member_id if isinstance(member_id, str) and member_id else None
    occurred_at = None
    if isinstance(record.get("occurred_at"), str):
        try:
            parsed = datetime.fromisoformat(record["occurred_at"])
            occurred_at = parsed if parsed.tzinfo is not None else None
        except ValueError:
            occurred_at = None
    return member_id, occurred_at


def read_jsonl_lines(path: Path | str) -> Iterator[FileLine]:
    """Each non-blank line of a file as a `FileLine` (`read_jsonl`, with the line's text
    and, for a bad line, what it names)."""
    with Path(path).open(encoding="utf-8", errors="strict") as lines:
        number = 0
        while True:
            number += 1
            try:
                line = lines.readline()
            except UnicodeDecodeError as bad:
                error = CodecError("bad_json", f"not UTF-8: {bad}")
                yield FileLine(number, "", None, error, None, None)
                return  # the decoder's position is lost: nothing after it can be trusted
            if not line:
                return
            if line.isspace():
                continue
            text = line.rstrip("\n")
            try:
                message = parse_json_line(line)
            except CodecError as error:
                member_id, occurred_at = _named(line)
                yield FileLine(number, text, None, error, member_id, occurred_at)
                continue
            yield FileLine(number, text, message, None, message.member_id, message.occurred_at)
