"""The per-program memo: a derived value is computed once per program, never shared across."""

from __future__ import annotations

from agents.rules.memo import derived

from .builders import program


def test_a_derived_value_is_computed_once_per_program() -> None:
    prog = program()
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return 42

    assert derived(prog, "answer", compute) == 42
    assert derived(prog, "answer", compute) == 42
    assert calls == [1]


def test_equal_programs_do_not_share_derived_values() -> None:
    # Keyed by identity: two equal programs (one possibly reloaded from an edited file) each
    # compute their own value.
    first, second = program(), program()
    assert first == second
    assert derived(first, "name", lambda: "first") == "first"
    assert derived(second, "name", lambda: "second") == "second"
    assert derived(first, "name", lambda: "other") == "first"


def test_different_keys_of_one_program_are_separate() -> None:
    prog = program()
    assert derived(prog, ("cut", 1), lambda: 1) == 1
    assert derived(prog, ("cut", 2), lambda: 2) == 2
