"""Values derived from a program once, instead of on every event (per-program memo).

A `Program` is frozen, but hashing one walks every version, tier and campaign, so the memo
keys on the program's identity. Each entry keeps a reference to its program: while the entry
lives the program does too, so its id cannot be reused by another program.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from agents.rules.program import Program

T = TypeVar("T")

_MAX_ENTRIES = 4096  # a few programs x a few values x the months a replay spans
_MEMO: dict[tuple[int, Hashable], tuple[Program, Any]] = {}


def derived(program: Program, key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()` for this program and key, computed once. `compute` must depend only on
    the program and the key (both immutable), so the cached value never goes stale."""
    memo_key = (id(program), key)
    entry = _MEMO.get(memo_key)
    if entry is not None and entry[0] is program:
        value: T = entry[1]
        return value
    if len(_MEMO) >= _MAX_ENTRIES:
        _MEMO.clear()  # rare: simplest bound, every value can be computed again
    value = compute()
    _MEMO[memo_key] = (program, value)
    return value
