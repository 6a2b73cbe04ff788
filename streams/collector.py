"""The cyclic garbage collector's settings for processes that apply batches: the worker and
the offline replay (and the benchmark that measures their batch path).

A batch decodes thousands of receipts into objects that live until the batch is committed,
then die together by reference counting. With Python's default thresholds (a young
collection every 700 net allocations) those objects are still alive at each young
collection, so they are scanned, promoted, and scanned again by the older generations: a
fifth of the batch path's CPU time (docs/benchmarks.md, "Where a receipt's time goes").
With a young generation of 200,000 objects, a batch's objects mostly die before any
collection sees them.

What the thresholds cost: memory only for garbage in reference cycles, which waits for the
next young collection (the batch path builds next to none); a collection, when it comes,
scans at most the young objects then alive (a few milliseconds). Everything built before the
process starts its work (imports, the program, the Faust app) is frozen out of the
collector's sight, so a full collection walks only what was made since.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

BATCH_THRESHOLDS = (200_000, 50, 100)


def settle_for_batches() -> None:
    """For a process whose remaining life is applying batches: freeze what exists now (it
    lives as long as the process), then collect the young generation rarely."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*BATCH_THRESHOLDS)


@contextmanager
def collecting_for_batches() -> Iterator[None]:
    """`settle_for_batches` for a while (an offline replay inside a longer process); the
    previous thresholds come back after."""
    thresholds = gc.get_threshold()
    settle_for_batches()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
