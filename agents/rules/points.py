"""Point arithmetic: floor for base points, round-half-up for everything multiplied or prorated."""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

_ONE = Decimal(1)


def floor_points(value: Decimal) -> int:
    """Whole points, rounded down (base points never round up)."""
    # The rounding passed positionally: decimal's C methods take keywords at twice the cost.
    return int(value.to_integral_value(ROUND_FLOOR))


def round_half_up(value: Decimal) -> int:
    """Whole points, halves away from zero for positives (2.5 -> 3), as the program promises."""
    return int(value.quantize(_ONE, ROUND_HALF_UP))  # positional, as in floor_points


def multiplier_text(multiplier: Decimal) -> str:
    """`1.5` for Decimal('1.50'), `2` for Decimal('2.0'): how a rate reads in a ledger line."""
    return format(multiplier.normalize(), "f")


def grouped(points: int) -> str:
    """`25,000`: how a number of points reads in a message."""
    return f"{points:,}"
