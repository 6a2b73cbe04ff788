"""Offline replay rate: the rules core over a simulated history, one core, no Kafka.

`python -m bench.bench_replay [--receipts N] [--members N]` (defaults: 1,000,000 receipts over
50,000 members). Reports events per second of CPU time for the core (`Replay.feed`, which
calls `agents.rules.apply` per event) against a baseline measured in the same run: the same
loop over the same events doing only the per-member dict traffic. Also the serialized state
size per member (what the worker writes to its changelog on every change).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, timedelta
from pathlib import Path

from agents.rules.events import MemberEvent, Receipt
from streams.program import load_program
from streams.replay import Replay
from streams.simulate import SimulationParams, simulate

PROGRAM = Path(__file__).resolve().parents[1] / "streams" / "program.example.toml"


def _baseline(events: list[Receipt | MemberEvent]) -> float:
    """CPU seconds for the loop alone: one dict read and write per event."""
    states: dict[str, object] = {}
    start = time.process_time()
    for event in events:
        state = states.get(event.member_id)
        states[event.member_id] = state
    return time.process_time() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    program = load_program(PROGRAM)
    start = time.perf_counter()
    params = SimulationParams(
        seed=args.seed,
        members=args.members,
        receipts=args.receipts,
        days=365,
        start=date(2025, 1, 1),
    )
    events = [e for e in simulate(params, program) if isinstance(e, Receipt | MemberEvent)]
    generated = time.perf_counter() - start
    print(f"generated {len(events):,} events for {args.members:,} members in {generated:.1f} s")

    baseline = _baseline(events)
    replay = Replay(program)
    start = time.process_time()
    replay.feed((n, e) for n, e in enumerate(events, start=1))
    core = time.process_time() - start
    start = time.process_time()
    replay.review_through((replay.last_local_date or date(2025, 12, 31)) + timedelta(days=1))
    review = time.process_time() - start

    sizes = sorted(len(state.to_bytes()) for state in replay.states.values())
    rate = len(events) / core
    print(f"baseline loop      {len(events) / baseline:>14,.0f} events/s (dict traffic only)")
    print(f"rules core         {rate:>14,.0f} events/s  (goal >= 50,000)")
    print(f"ratio core/base    {baseline / core:>14.4f}")
    print(f"daily reviews      {len(replay.states) / review:>14,.0f} members/s (one as-of review)")
    print(
        f"state bytes/member mean {statistics.fmean(sizes):,.0f}, "
        f"p50 {sizes[len(sizes) // 2]:,}, p99 {sizes[int(len(sizes) * 0.99)]:,}, "
        f"max {sizes[-1]:,}"
    )
    outputs = replay.outputs
    print(
        f"outputs: {len(outputs.ledger):,} ledger entries, "
        f"{len(outputs.tier_changes):,} tier changes, {len(outputs.notifications):,} notifications"
    )


if __name__ == "__main__":
    main()
