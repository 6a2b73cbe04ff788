"""Codec rates for a typical 5-line receipt, framed, against bare fastavro in the same run.

`python -m bench.bench_codec [--rounds N] [--ops N]`. Rates are per core: ops per second of
this process's CPU time, so time spent descheduled on a shared machine does not count. Rounds
interleave every measurement and keep each one's best, so what noise is left skews all alike.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import fastavro

from agents.rules.events import LineItem, Receipt, ReceiptKind
from schemas.checks import check_receipt
from schemas.codec import Codec, without_logical_types
from schemas.models import ReceiptModel


def typical_receipt() -> Receipt:
    """Five lines, the shape the simulator's baskets mostly have."""
    lines = tuple(
        LineItem(
            f"SKU-{category[:3].upper()}-{index:04d}", category, quantity, price, price * quantity
        )
        for index, (category, quantity, price) in enumerate(
            [
                ("groceries", 2, Decimal("3.49")),
                ("groceries", 1, Decimal("12.99")),
                ("apparel", 1, Decimal("39.90")),
                ("home", 3, Decimal("4.25")),
                ("beauty", 1, Decimal("18.00")),
            ]
        )
    )
    return Receipt(
        receipt_id="R-2025-03-14-017-0003-000123",
        member_id="M-00042917",
        store_id="S-017",
        occurred_at=datetime(2025, 3, 14, 15, 9, 26, 535000, tzinfo=UTC),
        currency="USD",
        kind=ReceiptKind.SALE,
        lines=lines,
        total=sum((line.amount for line in lines), Decimal(0)),
        terminal_id="T-03",
    )


def _best_rate(run: Callable[[], object], ops: int) -> float:
    start = time.process_time()
    for _ in range(ops):
        run()
    return ops / max(time.process_time() - start, 1e-9)


def measure(rounds: int, ops: int) -> dict[str, float]:
    codec = Codec()
    receipt = typical_receipt()
    framed = codec.encode(receipt)
    body = framed[10:]
    logical_schema = fastavro.parse_schema(codec.schema("Receipt"))
    as_dict = fastavro.schemaless_reader(io.BytesIO(body), logical_schema, None)
    raw_schema = fastavro.parse_schema(without_logical_types(codec.schema("Receipt")))

    def bare_read() -> object:
        return fastavro.schemaless_reader(io.BytesIO(body), logical_schema, None)

    def bare_write() -> bytes:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, logical_schema, as_dict)
        return out.getvalue()

    def pydantic_decode() -> object:
        return ReceiptModel.model_validate(bare_read()).to_core()

    cases: dict[str, Callable[[], object]] = {
        "baseline: fastavro.schemaless_reader (logical types, no framing, no checks)": bare_read,
        "Codec.decode_receipt (framing + Avro + checks -> Receipt)": lambda: codec.decode_receipt(
            framed
        ),
        "Codec.decode_record (framing + Avro, sink path)": lambda: codec.decode_record(framed),
        "  of which fastavro without logical types": lambda: fastavro.schemaless_reader(
            io.BytesIO(body), raw_schema, None
        ),
        "  of which schemas.checks.check_receipt": lambda: check_receipt(receipt),
        "pydantic ReceiptModel.model_validate(dict) alone": lambda: ReceiptModel.model_validate(
            as_dict
        ),
        "fastavro + pydantic -> Receipt (the path not taken)": pydantic_decode,
        "baseline: fastavro.schemaless_writer (logical types, no framing)": bare_write,
        "Codec.encode(Receipt) (checks + framing + Avro)": lambda: codec.encode(receipt),
    }
    best = dict.fromkeys(cases, 0.0)
    for _ in range(rounds):
        for name, run in cases.items():
            best[name] = max(best[name], _best_rate(run, ops))
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--ops", type=int, default=3_000)
    args = parser.parse_args(argv)
    framed = Codec().encode(typical_receipt())
    print(
        f"python {platform.python_version()} fastavro {fastavro.__version__} on "
        f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
        f"receipt of 5 lines = {len(framed)} bytes framed; best of {args.rounds} rounds "
        f"x {args.ops:,} ops, rates per second of CPU time (one core)"
    )
    rates = measure(args.rounds, args.ops)
    names = list(rates)
    read_base, write_base = rates[names[0]], rates[names[7]]
    width = max(map(len, names))
    for index, (name, rate) in enumerate(rates.items()):
        base = write_base if index >= 7 else read_base
        print(f"{name:<{width}}  {rate:>9,.0f}/s  {1e6 / rate:6.1f} us  x{rate / base:.2f}")
    ours, goal = rates[names[1]], 100_000
    verdict = "meets" if ours >= goal else "misses"
    print(
        f"decode_receipt {verdict} the {goal:,}/s goal ({ours:,.0f}/s); "
        f"{ours / read_base:.2f}x bare fastavro, "
        f"{ours / rates[names[6]]:.1f}x the pydantic path"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
