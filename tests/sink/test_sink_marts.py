"""Each mart on the hand-computed history of sink_dataset.py (worked out in docs/kpis.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sink.store import Store


def rows(store: Store, sql: str) -> list[dict[str, Any]]:
    result = store.connection.execute(sql)
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def monthly(store: Store) -> dict[str, dict[str, Any]]:
    return {row["month"]: row for row in rows(store, "SELECT * FROM kpi_monthly")}


def test_monthly_enrollments_active_members_and_engagement(history_store: Store) -> None:
    kpis = monthly(history_store)
    assert [kpis[m]["enrollments"] for m in ("2024-01", "2024-02", "2024-03")] == [2, 2, 0]
    assert [kpis[m]["member_base"] for m in ("2024-01", "2024-02", "2024-03")] == [2, 4, 4]
    assert [kpis[m]["active_members"] for m in ("2024-01", "2024-02", "2024-03")] == [2, 2, 2]
    assert [kpis[m]["engagement_rate"] for m in ("2024-01", "2024-02", "2024-03")] == [
        1.0,
        0.5,
        0.5,
    ]


def test_retention_is_the_share_of_last_months_active_members_active_again(
    history_store: Store,
) -> None:
    kpis = monthly(history_store)
    assert kpis["2024-01"]["retention_rate"] is None, "no month before the first"
    # Feb: of {A, B} active in January only A bought again; Mar: of {A, C} only C.
    assert (kpis["2024-02"]["retained_members"], kpis["2024-02"]["retention_rate"]) == (1, 0.5)
    assert (kpis["2024-03"]["retained_members"], kpis["2024-03"]["retention_rate"]) == (1, 0.5)


def test_purchase_frequency_and_average_basket(history_store: Store) -> None:
    kpis = monthly(history_store)
    # Jan: r1, r2 and r3 (Jan 31 in New York, Feb 1 in UTC) by A and B.
    assert kpis["2024-01"]["sale_receipts"] == 3
    assert kpis["2024-01"]["purchase_frequency"] == 1.5
    assert kpis["2024-01"]["average_basket"] == Decimal("60.00")
    # Mar: r8 and r9; the refused rX (1000.00) is not a sale.
    assert kpis["2024-03"]["sale_receipts"] == 2
    assert kpis["2024-03"]["sales_amount"] == Decimal("100.00")
    assert kpis["2024-03"]["purchase_frequency"] == 1.0
    assert kpis["2024-03"]["average_basket"] == Decimal("50.00")


def test_lifetime_value_is_net_sales_to_date_per_enrolled_member(history_store: Store) -> None:
    kpis = monthly(history_store)
    # 180 / 2; (180 + 180 - 20) / 4; (340 + 100) / 4
    assert [kpis[m]["lifetime_value"] for m in ("2024-01", "2024-02", "2024-03")] == [
        Decimal("90.00"),
        Decimal("85.00"),
        Decimal("110.00"),
    ]


def test_points_issued_redeemed_expired_and_redemption_rate(history_store: Store) -> None:
    kpis = monthly(history_store)
    months = ("2024-01", "2024-02", "2024-03")
    assert [kpis[m]["points_issued"] for m in months] == [230, 305, 100]
    assert [kpis[m]["points_redeemed"] for m in months] == [0, 200, 0]
    assert [kpis[m]["points_expired"] for m in months] == [0, 0, 5]
    assert [kpis[m]["points_returned"] for m in months] == [0, 20, 0]
    # Redeemed to date / issued to date: 0/230, 200/535, 200/635.
    assert [kpis[m]["redemption_rate"] for m in months] == [0.0, 0.3738, 0.315]
    assert [kpis[m]["outstanding_points"] for m in months] == [230, 315, 400]


def test_daily_kpis_follow_the_program_timezone(history_store: Store) -> None:
    days = {str(row["local_date"]): row for row in rows(history_store, "SELECT * FROM kpi_daily")}
    assert days["2024-01-31"]["sale_receipts"] == 1, "r3 at 03:00 UTC Feb 1 is Jan 31 locally"
    assert days["2024-02-01"]["sale_receipts"] == 0
    assert days["2024-01-05"]["enrollments"] == 1
    assert days["2024-03-31"]["outstanding_points"] == 400
    assert len(days) == 87, "every day from Jan 5 to Mar 31, quiet days included"


def test_tier_distribution_counts_open_members_per_tier_each_day(history_store: Store) -> None:
    dist = {
        (str(row["local_date"]), row["tier"]): row["members"]
        for row in rows(history_store, "SELECT * FROM tier_distribution_daily")
    }
    assert (dist[("2024-02-02", "Member")], dist[("2024-02-02", "Silver")]) == (2, 0)
    assert (dist[("2024-02-03", "Member")], dist[("2024-02-03", "Silver")]) == (1, 1)
    # Feb 20: C moves up; D (enrolled Feb 15) is still open.
    assert (dist[("2024-02-20", "Member")], dist[("2024-02-20", "Silver")]) == (2, 2)
    # Mar 10: D is anonymized and stops counting.
    assert (dist[("2024-03-10", "Member")], dist[("2024-03-10", "Silver")]) == (1, 2)


def test_tier_migrations_per_month(history_store: Store) -> None:
    assert rows(
        history_store, "SELECT month, from_tier, to_tier, changes FROM tier_migrations_monthly"
    ) == [{"month": "2024-02", "from_tier": "Member", "to_tier": "Silver", "changes": 2}]


def test_sales_by_store_nets_returns(history_store: Store) -> None:
    stores = {
        (row["month"], row["store_id"]): row
        for row in rows(history_store, "SELECT * FROM sales_by_store")
    }
    assert stores[("2024-02", "s1")]["net_sales"] == Decimal("60.00")
    assert stores[("2024-01", "s1")]["sales_amount"] == Decimal("130.00")
    assert ("2024-03", "s3") not in stores, "the refused receipt is no store's sale"


def test_campaign_performance(history_store: Store) -> None:
    [campaign] = rows(history_store, "SELECT * FROM campaign_performance")
    assert campaign["campaign_id"] == "c-double"
    assert (campaign["receipts"], campaign["members"], campaign["bonus_points"]) == (1, 1, 50)
    assert campaign["sales_amount"] == Decimal("50.00")


def test_member_activity_explains_each_entry(history_store: Store) -> None:
    feed = rows(
        history_store,
        "SELECT * FROM member_activity WHERE member_id = 'A' ORDER BY occurred_at, activity_id",
    )
    kinds = [row["kind"] for row in feed]
    assert kinds.count("TIER_CHANGE") == 1
    earn = next(row for row in feed if row["activity_id"] == "l2")
    assert earn["description"] == "Member (x1); excluded: gift_card"
    assert earn["store_id"] == "s2" and earn["receipt_total"] == Decimal("50.00")
    bonus = next(row for row in feed if row["activity_id"] == "l3")
    assert bonus["campaign_id"] == "c-double"
    redeem = next(row for row in feed if row["kind"] == "REDEEM")
    assert (redeem["event_type"], redeem["reward_id"]) == ("points_redeemed", "mug")
    adjust = rows(
        history_store, "SELECT * FROM member_activity WHERE kind = 'ADJUST' AND member_id = 'B'"
    )
    assert (adjust[0]["actor"], adjust[0]["reason"]) == ("agent-7", "goodwill")


def test_tier_at_risk_lists_members_whose_window_drops_below_their_tier(
    history_store: Store,
) -> None:
    at_risk = rows(history_store, "SELECT * FROM tier_at_risk")
    assert [
        (r["member_id"], r["points_needed_to_keep_tier"], r["tier_below"]) for r in at_risk
    ] == [("A", 50, "Member")]
