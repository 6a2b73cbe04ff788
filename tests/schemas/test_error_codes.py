"""Error codes are contract: each one is documented, and no other code can be raised."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from schemas.errors import CODES, CodecError

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "contract.md"


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_error_code_has_a_row_in_docs_contract(code: str) -> None:
    assert f"| `{code}` |" in CONTRACT.read_text()


def test_an_undocumented_code_cannot_be_raised() -> None:
    with pytest.raises(ValueError, match="unknown codec error code"):
        CodecError("something_new", "no")


def test_a_codec_error_survives_pickling_for_process_pools() -> None:
    error = CodecError("invalid_receipt", "total: is 1 but the lines add up to 2", "total")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.code, copy.message, copy.field) == ("invalid_receipt", error.message, "total")
