"""tierflow's wire contract: the Avro schemas (`*.avsc`), their checks and the codec.

`schemas.codec.Codec` turns bytes into the core's dataclasses and back; `schemas.jsonl` does
the same for JSON Lines files; `schemas.checks` holds the contract's semantic checks, used by
both and by the pydantic models in `schemas.models`. See docs/contract.md.
"""
