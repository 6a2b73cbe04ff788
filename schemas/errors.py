"""The one error of the wire boundary: `CodecError`, with a stable `code` (see docs/contract.md).

Codes are contract: they land in dead letters, logs and dashboards, so never rename one.
"""

from __future__ import annotations

from typing import Final

# Every code the codec and the JSON Lines reader raise, with what it means. docs/contract.md
# repeats this table; tests/schemas/test_error_codes.py keeps the two in step.
CODES: Final[dict[str, str]] = {
    "bad_framing": "the bytes start with neither the single-object magic C3 01 nor the "
    "Confluent magic 0, or are too short to hold the header",
    "unknown_schema": "the framing names a schema (fingerprint or registry id) this codec does "
    "not know, or a Confluent-framed message arrived and no schema registry is configured",
    "registry_unavailable": "the schema registry could not be reached; transient: retry, "
    "do not dead-letter",
    "bad_avro": "the Avro body does not decode with the named schema (truncated, corrupt, "
    "trailing bytes)",
    "wrong_record_type": "a valid message of another record type than the one expected "
    "(e.g. a LedgerEntry read as a Receipt)",
    "message_too_large": "the message is larger than 1 MiB (1,048,576 bytes)",
    "invalid_receipt": "a receipt that decodes but breaks a rule of the contract (total, "
    "quantities, currency code, ids, time bounds, return without original, ...)",
    "wrong_currency": "a valid receipt in another currency than the program's",
    "invalid_member_event": "a member event that decodes but breaks a rule of the contract "
    "(ids, time bounds, points, required actor/reason, ...)",
    "invalid_review_tick": "a review tick with a date outside 2000-01-01 .. 2099-12-31 or a "
    "negative partition",
    "unencodable": "encode() was given an object it cannot write (unknown type, naive "
    "datetime, value out of range)",
    "bad_json": "a JSON Lines line that is not a JSON object",
    "unknown_type": "a JSON Lines object whose `type` names no message",
}


class CodecError(Exception):
    """A message that cannot be read or written; `code` is one of `CODES`.

    `field` names the offending field when one is to blame (e.g. `lines[2].quantity`).
    """

    __slots__ = ("code", "field", "message")

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        if code not in CODES:
            raise ValueError(f"unknown codec error code {code!r}")
        self.code = code
        self.message = message
        self.field = field
        super().__init__(f"{code}: {message}")

    @property
    def retriable(self) -> bool:
        """True when the message itself may be fine and a retry can succeed."""
        return self.code == "registry_unavailable"

    def __reduce__(self) -> tuple[type[CodecError], tuple[str, str, str | None]]:
        return (CodecError, (self.code, self.message, self.field))
