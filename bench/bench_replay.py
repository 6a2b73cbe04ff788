"""Offline replay rate: the rules core over a simulated history, one core, no Kafka.

`python -m bench.bench_replay [--receipts N] [--members N] [--rounds N]` (defaults: 1,000,000
receipts over 50,000 members, 1 round). Reports events per second of CPU time, best of the
rounds, against a baseline measured in the same run (the same loop over the same events
doing only the per-member dict traffic) for:
- the replay (`Replay.apply_inputs`: the worker's use case per event, outputs encoded);
- `apply` alone, one call per event on a dict of member states;
- the live worker's per-event core work: `apply`, then `next_review_date` and
  `MemberState.to_bytes` of the new state (what agents/usecase/batch.py does per event).
Also the serialized state size per member (what the worker writes to its changelog).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, timedelta
from pathlib import Path

from agents.rules import MemberState, apply, next_review_date
from agents.rules.events import MemberEvent, Receipt
from agents.rules.program import Program
from streams.offline.replay import Replay
from streams.program import load_program
from streams.simulator.stream import SimulationParams, simulate

PROGRAM = Path(__file__).resolve().parents[1] / "streams" / "program.example.toml"


def _baseline(events: list[Receipt | MemberEvent]) -> float:
    """CPU seconds for the loop alone: one dict read and write per event."""
    states: dict[str, object] = {}
    start = time.process_time()
    for event in events:
        state = states.get(event.member_id)
        states[event.member_id] = state
    return time.process_time() - start


def _apply_only(events: list[Receipt | MemberEvent], program: Program) -> float:
    """CPU seconds for `apply` per event, states kept in a dict, outputs dropped."""
    states: dict[str, MemberState] = {}
    start = time.process_time()
    for event in events:
        states[event.member_id], _ = apply(states.get(event.member_id), event, program)
    return time.process_time() - start


def _worker_core(events: list[Receipt | MemberEvent], program: Program) -> float:
    """CPU seconds for the worker's core calls per event: apply, next review, serialized state."""
    states: dict[str, MemberState] = {}
    start = time.process_time()
    for event in events:
        state, _ = apply(states.get(event.member_id), event, program)
        states[event.member_id] = state
        next_review_date(state, program)
        state.to_bytes()
    return time.process_time() - start


def _state_codec(states: list[MemberState], rounds: int) -> tuple[float, float]:
    """CPU seconds per state for `to_bytes` and for `from_bytes`, best of the rounds."""
    blobs = [state.to_bytes() for state in states]
    encode = decode = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for state in states:
            state.to_bytes()
        encode = min(encode, time.process_time() - start)
        start = time.process_time()
        for blob in blobs:
            MemberState.from_bytes(blob)
        decode = min(decode, time.process_time() - start)
    return encode / len(states), decode / len(states)


def _replay(events: list[Receipt | MemberEvent], program: Program) -> tuple[float, Replay]:
    replay = Replay(program)
    start = time.process_time()
    replay.apply_inputs(events)
    return time.process_time() - start, replay


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=1, help="best of N runs of each loop")
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

    rounds = max(1, args.rounds)
    baseline = min(_baseline(events) for _ in range(rounds))
    core, replay = min((_replay(events, program) for _ in range(rounds)), key=lambda r: r[0])
    apply_only = min(_apply_only(events, program) for _ in range(rounds))
    worker = min(_worker_core(events, program) for _ in range(rounds))
    start = time.process_time()
    replay.review_through((replay.last_local_date or date(2025, 12, 31)) + timedelta(days=1))
    review = time.process_time() - start

    states = [record.state for record in replay.records.values() if record.state is not None]
    to_bytes, from_bytes = _state_codec(states, rounds)
    sizes = sorted(len(state.to_bytes()) for state in states)
    n = len(events)
    print(f"baseline loop      {n / baseline:>14,.0f} events/s (dict traffic only)")
    print(f"replay             {n / core:>14,.0f} events/s  (Replay.apply_inputs)")
    print(f"ratio core/base    {baseline / core:>14.4f}")
    print(
        f"apply alone        {n / apply_only:>14,.0f} events/s  "
        f"({apply_only / n * 1e6:.1f} us/event)"
    )
    print(
        f"apply+next+bytes   {n / worker:>14,.0f} events/s  ({worker / n * 1e6:.1f} us/event: "
        "apply, next_review_date, to_bytes)"
    )
    print(f"daily reviews      {len(states) / review:>14,.0f} members/s (one as-of review)")
    print(
        f"state bytes/member mean {statistics.fmean(sizes):,.0f}, "
        f"p50 {sizes[len(sizes) // 2]:,}, p99 {sizes[int(len(sizes) * 0.99)]:,}, "
        f"max {sizes[-1]:,}"
    )
    print(
        f"state codec        to_bytes {to_bytes * 1e6:.1f} us, from_bytes {from_bytes * 1e6:.1f} us"
        " per member (final states)"
    )
    counts = replay.counts()
    print(
        f"outputs: {counts['ledger']:,} ledger entries, "
        f"{counts['tier_changes']:,} tier changes, {counts['notifications']:,} notifications"
    )


if __name__ == "__main__":
    main()
