"""The simulated POS stream: deterministic per seed, consistent receipts, a plausible world."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from agents.rules.events import MemberEvent, MemberEventType, Receipt, ReceiptKind
from agents.rules.program import Program
from schemas.codec import Codec, CodecError
from schemas.jsonl import parse_json_line
from streams.program import load_program, parse_program_text
from streams.simulator.malformed import Flaw, MalformedMessage, json_line, malformed_bytes
from streams.simulator.stream import AUTO_ENROLL_SHARE, SimulationError, SimulationParams, simulate

EXAMPLE_PROGRAM = Path(__file__).resolve().parents[2] / "streams" / "program.example.toml"
SMALL = SimulationParams(seed=7, members=600, receipts=12_000, start=date(2025, 9, 1), days=150)


@pytest.fixture(scope="module")
def program() -> Program:
    return load_program(EXAMPLE_PROGRAM)


@pytest.fixture(scope="module")
def stream(program: Program) -> list[Receipt | MemberEvent | MalformedMessage]:
    return list(simulate(SMALL, program))


def receipts_of(stream: list[object]) -> list[Receipt]:
    return [m for m in stream if isinstance(m, Receipt)]


def events_of(stream: list[object], kind: MemberEventType) -> list[MemberEvent]:
    return [m for m in stream if isinstance(m, MemberEvent) and m.type is kind]


def test_same_seed_gives_the_same_stream(stream: list[object], program: Program) -> None:
    assert list(simulate(SMALL, program)) == stream


def test_another_seed_gives_another_stream(stream: list[object], program: Program) -> None:
    other = list(simulate(replace(SMALL, seed=8), program))
    assert receipts_of(other)[:50] != receipts_of(stream)[:50]
    assert len(receipts_of(other)) == len(receipts_of(stream))


def test_exactly_the_requested_number_of_receipts(stream: list[object]) -> None:
    assert len(receipts_of(stream)) == SMALL.receipts


def test_totals_are_the_sum_of_amounts_and_amounts_quantity_times_price(
    stream: list[object],
) -> None:
    for receipt in receipts_of(stream):
        assert receipt.lines
        assert receipt.total == sum(line.amount for line in receipt.lines)
        assert receipt.total.as_tuple().exponent == -2
        for line in receipt.lines:
            assert line.quantity > 0
            assert line.amount == line.quantity * line.unit_price
            assert line.unit_price.as_tuple().exponent == -2


def test_receipts_are_in_the_programs_currency_and_pass_the_codec(
    stream: list[object], program: Program
) -> None:
    codec = Codec()
    for receipt in receipts_of(stream)[:2_000]:
        assert receipt.currency == program.currency
        assert codec.decode_receipt(codec.encode(receipt)) == receipt
    for event in [m for m in stream if isinstance(m, MemberEvent)][:2_000]:
        assert codec.decode_member_event(codec.encode(event)) == event


def test_category_mix_includes_the_programs_excluded_categories(
    stream: list[object], program: Program
) -> None:
    sold = Counter(line.category for r in receipts_of(stream) for line in r.lines)
    assert program.versions[0].excluded_categories <= set(sold)
    assert {"groceries", "apparel", "electronics", "home", "beauty"} <= set(sold)
    assert sold.most_common(1)[0][0] == "groceries"


def test_returns_are_a_few_percent_of_receipts(stream: list[object]) -> None:
    returns = [r for r in receipts_of(stream) if r.kind is ReceiptKind.RETURN]
    assert 0.02 <= len(returns) / SMALL.receipts <= 0.04


def test_returns_take_back_lines_of_an_earlier_sale_of_the_same_member(
    stream: list[object],
) -> None:
    sales = {r.receipt_id: r for r in receipts_of(stream) if r.kind is ReceiptKind.SALE}
    returns = [r for r in receipts_of(stream) if r.kind is ReceiptKind.RETURN]
    partial = late = 0
    for refund in returns:
        sale = sales[refund.original_receipt_id or ""]
        assert sale.member_id == refund.member_id
        assert sale.occurred_at < refund.occurred_at
        bought = {line.sku: line.quantity for line in sale.lines}
        assert all(line.quantity <= bought[line.sku] for line in refund.lines)
        partial += refund.total < sale.total
        late += (refund.occurred_at - sale.occurred_at).days > 7
    assert partial > len(returns) / 5
    assert late > len(returns) / 10


def test_stream_is_in_event_time_order_but_for_sales_uploaded_after_their_return(
    stream: list[object],
) -> None:
    latest = datetime.min.replace(tzinfo=None)
    returned_before: set[str] = set()
    late_uploads = 0
    for message in stream:
        assert isinstance(message, Receipt | MemberEvent)
        moment = message.occurred_at.replace(tzinfo=None)
        if isinstance(message, Receipt) and message.kind is ReceiptKind.RETURN:
            returned_before.add(message.original_receipt_id or "")
        if moment < latest:
            assert isinstance(message, Receipt) and message.receipt_id in returned_before
            late_uploads += 1
        latest = max(latest, moment)
    assert late_uploads >= 1


def test_stores_in_several_cities(stream: list[object]) -> None:
    stores = {r.store_id for r in receipts_of(stream)}
    assert len({store.split("-")[0] for store in stores}) >= 5
    assert all(len(store) == 7 and store[3] == "-" for store in stores)


def test_enrollments_spread_over_time_with_a_launch_week(stream: list[object]) -> None:
    enrolled = events_of(stream, MemberEventType.ENROLLED)
    months = Counter(e.occurred_at.strftime("%Y-%m") for e in enrolled)
    assert len(months) >= 5
    launch_week = sum(1 for e in enrolled if e.occurred_at.date() < date(2025, 9, 8))
    assert 0.15 < launch_week / len(enrolled) < 0.5


def test_a_receipts_member_enrolled_before_it_or_is_auto_enrolled_by_it(
    stream: list[object],
) -> None:
    enrolled_at = {e.member_id: e.occurred_at for e in events_of(stream, MemberEventType.ENROLLED)}
    auto_enrolled = set()
    for receipt in receipts_of(stream):
        if receipt.member_id in enrolled_at:
            assert enrolled_at[receipt.member_id] < receipt.occurred_at
        else:
            auto_enrolled.add(receipt.member_id)
    assert 0 < len(auto_enrolled) < 3 * AUTO_ENROLL_SHARE * SMALL.members


def test_ids_are_unique_and_shaped(stream: list[object]) -> None:
    receipt_ids = [r.receipt_id for r in receipts_of(stream)]
    event_ids = [m.event_id for m in stream if isinstance(m, MemberEvent)]
    assert len(set(receipt_ids)) == len(receipt_ids)
    assert len(set(event_ids)) == len(event_ids)
    assert all(i.startswith("r-7-") for i in receipt_ids)
    assert all(i.startswith("e-7-") for i in event_ids)
    members = {r.member_id for r in receipts_of(stream)}
    assert all(len(m) == 7 and m[0] == "M" and m[1:].isdigit() for m in members)


def test_profiles_are_plausible_and_some_names_are_not_ascii(stream: list[object]) -> None:
    enrolled = events_of(stream, MemberEventType.ENROLLED)
    assert any(not e.name.isascii() for e in enrolled if e.name)
    assert all(e.email is None or "@" in e.email for e in enrolled)
    assert any(e.consent_email for e in enrolled) and any(not e.consent_sms for e in enrolled)


def test_support_staff_adjust_points_both_ways_with_reasons(stream: list[object]) -> None:
    adjusted = events_of(stream, MemberEventType.POINTS_ADJUSTED)
    assert adjusted
    assert all(e.actor and e.actor.startswith("support:") and e.reason for e in adjusted)
    assert any(e.points and e.points > 0 for e in adjusted)
    assert any(e.points and e.points < 0 for e in adjusted)
    assert any(e.counts_toward_qualifying for e in adjusted)


def test_redemptions_name_rewards_and_a_few_are_out_of_reach(stream: list[object]) -> None:
    redeemed = events_of(stream, MemberEventType.POINTS_REDEEMED)
    assert len(redeemed) > 50
    assert all(e.reward_id and e.points and e.points > 0 for e in redeemed)
    out_of_reach = [e for e in redeemed if e.reward_id == "RW-GETAWAY"]
    assert 0 < len(out_of_reach) < len(redeemed) / 5


def test_blocks_unblocks_and_anonymizations_happen(stream: list[object]) -> None:
    for kind in (MemberEventType.BLOCKED, MemberEventType.ANONYMIZED):
        assert events_of(stream, kind), kind
    anonymized = {e.member_id: e.occurred_at for e in events_of(stream, MemberEventType.ANONYMIZED)}
    for message in stream:  # a closed membership gets no CRM events, only (rare) receipts
        if isinstance(message, MemberEvent) and message.member_id in anonymized:
            assert message.occurred_at <= anonymized[message.member_id]


def test_december_is_the_busiest_month_of_a_year(program: Program) -> None:
    params = SimulationParams(seed=3, members=400, receipts=10_000, start=date(2025, 1, 1))
    months = Counter(r.occurred_at.month for r in receipts_of(list(simulate(params, program))))
    assert months.most_common(1)[0][0] == 12


def test_campaign_skus_sell_inside_the_campaign_window() -> None:
    text = EXAMPLE_PROGRAM.read_text("utf-8").replace(
        'id = "big-basket-250"',
        'id = "espresso-week"\nname = "Espresso week"\nstarts = 2025-10-06T00:00:00\n'
        'ends = 2025-10-13T00:00:00\nskus = ["ESPRESSO-01"]\ncategories = ["groceries"]\n'
        'bonus_multiplier = 1.0\n\n[[campaigns]]\nid = "big-basket-250"',
    )
    promo = parse_program_text(text, "test program")
    params = replace(SMALL, receipts=6_000)
    sold = [
        r.occurred_at.astimezone(promo.zone).date()
        for r in receipts_of(list(simulate(params, promo)))
        if r.kind is ReceiptKind.SALE and any(line.sku == "ESPRESSO-01" for line in r.lines)
    ]
    assert len(sold) > 10
    assert all(date(2025, 10, 6) <= day < date(2025, 10, 13) for day in sold)


def test_malformed_share_is_honoured_and_the_valid_stream_unchanged(
    stream: list[object], program: Program
) -> None:
    mixed = list(simulate(replace(SMALL, malformed_share=0.05), program))
    malformed = [m for m in mixed if isinstance(m, MalformedMessage)]
    assert abs(len(malformed) / len(mixed) - 0.05) < 0.01
    assert [m for m in mixed if not isinstance(m, MalformedMessage)] == stream
    assert {m.flaw for m in malformed} == set(Flaw)


def test_every_malformed_message_is_refused_on_the_wire_and_in_a_file(program: Program) -> None:
    codec = Codec()
    params = replace(SMALL, receipts=3_000, malformed_share=0.1)
    malformed = [m for m in simulate(params, program) if isinstance(m, MalformedMessage)]
    assert malformed
    for message in malformed:
        decode = codec.decode_receipt if message.topic == "receipts" else codec.decode_member_event
        if message.flaw is Flaw.WRONG_CURRENCY:
            # A well-formed receipt: the rules refuse it for the program's currency.
            assert decode(malformed_bytes(message, codec)).currency != program.currency
            continue
        with pytest.raises(CodecError):
            decode(malformed_bytes(message, codec))
        with pytest.raises(CodecError):
            parse_json_line(json_line(message))


def test_impossible_parameters_are_refused() -> None:
    with pytest.raises(SimulationError):
        simulate(replace(SMALL, days=1))
    with pytest.raises(SimulationError):
        simulate(replace(SMALL, malformed_share=1.0))


def test_the_default_program_is_usd_in_new_york() -> None:
    receipt = receipts_of(list(simulate(replace(SMALL, receipts=100))))[0]
    assert receipt.currency == "USD"
    assert receipt.total > Decimal(0)


def test_generation_rate_is_printed(program: Program) -> None:
    """Bench-like: prints receipts/s (no timed assertion; the machine is shared)."""
    params = SimulationParams(seed=1, members=2_000, receipts=60_000, start=date(2025, 1, 1))
    began, cpu_began = time.perf_counter(), time.process_time()
    receipts = sum(1 for m in simulate(params, program) if type(m) is Receipt)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    print(
        f"\nsimulate: {receipts:,} receipts in {seconds:.2f} s = {receipts / seconds:,.0f}/s "
        f"(CPU time {cpu:.2f} s = {receipts / cpu:,.0f}/s)"
    )
    assert receipts == params.receipts


def test_simulate_command_writes_a_mixed_json_lines_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from schemas.jsonl import read_jsonl
    from streams.cli import app

    out = tmp_path / "stream.jsonl"
    args = ["simulate", "--out", str(out), "--members", "50", "--receipts", "300"]
    args += ["--days", "30", "--start", "2025-02-01", "--program", str(EXAMPLE_PROGRAM)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    items = [item for _, item in read_jsonl(out)]
    assert sum(isinstance(item, Receipt) for item in items) == 300
    assert any(isinstance(item, MemberEvent) for item in items)
    assert not any(isinstance(item, CodecError) for item in items)
    assert '"type":"receipt"' in out.read_text("utf-8").replace(" ", "")
    assert "300 receipts" in result.output


def test_simulate_command_needs_exactly_one_destination(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from streams.cli import app

    neither = CliRunner().invoke(app, ["simulate", "--receipts", "10"])
    both = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "x"), "--produce"])
    assert neither.exit_code == both.exit_code == 2
    assert "exactly one of --out" in neither.output
