-- kpis_by_period(grain): every loyalty KPI, defined once, per period of `grain` ('day' or
-- 'month'). kpi_daily and kpi_monthly select from it. Definitions: docs/kpis.md.
CREATE OR REPLACE MACRO kpis_by_period(grain) AS TABLE
WITH

receipts AS (
    -- Members as 64-bit hashes: grouping and joining integers is several times faster.
    SELECT hash(member_id) AS member_key, kind, total, date_trunc(grain, local_date)::DATE AS period
    FROM stg_receipts
),

ledger AS (
    SELECT kind, points, date_trunc(grain, local_date)::DATE AS period
    FROM main.ledger
),

lifecycle AS (
    SELECT
        date_trunc(grain, enrolled_on)::DATE AS enrolled_period,
        date_trunc(grain, closed_on)::DATE AS closed_period
    FROM stg_member_lifecycle
),

bounds AS (
    SELECT min(period) AS first_period, max(period) AS last_period
    FROM (
        SELECT period FROM receipts
        UNION ALL SELECT period FROM ledger
        UNION ALL SELECT enrolled_period FROM lifecycle
    )
),

periods AS (
    SELECT CAST(unnest(generate_series(
        first_period::TIMESTAMP,
        last_period::TIMESTAMP,
        CASE WHEN grain = 'day' THEN INTERVAL 1 DAY ELSE INTERVAL 1 MONTH END
    )) AS DATE) AS period
    FROM bounds
),

-- One pass over the receipts: what each member bought in each period.
member_periods AS (
    SELECT
        period,
        member_key,
        count(*) FILTER (WHERE kind = 'SALE') AS sale_receipts,
        sum(total) FILTER (WHERE kind = 'SALE') AS sales_amount,
        sum(total) FILTER (WHERE kind = 'RETURN') AS returns_amount
    FROM receipts
    GROUP BY period, member_key
),

-- Active member: made at least one accepted SALE in the period.
active AS (
    SELECT period, member_key FROM member_periods WHERE sale_receipts > 0
),

sales AS (
    SELECT
        period,
        sum(sale_receipts) AS sale_receipts,
        coalesce(sum(sales_amount), 0) AS sales_amount,
        coalesce(sum(returns_amount), 0) AS returns_amount,
        count(*) FILTER (WHERE sale_receipts > 0) AS active_members
    FROM member_periods
    GROUP BY period
),

-- Retained: active in the period AND in the period just before it.
retained AS (
    SELECT current.period, count(*) AS retained_members
    FROM active AS current
    JOIN active AS previous
        ON previous.member_key = current.member_key
        AND previous.period = date_trunc(grain, current.period - INTERVAL 1 DAY)::DATE
    GROUP BY current.period
),

enrolled AS (
    SELECT enrolled_period AS period, count(*) AS enrollments
    FROM lifecycle WHERE enrolled_period IS NOT NULL GROUP BY ALL
),

closed AS (
    SELECT closed_period AS period, count(*) AS closures
    FROM lifecycle WHERE closed_period IS NOT NULL GROUP BY ALL
),

points AS (
    SELECT
        period,
        coalesce(sum(points) FILTER (
            WHERE kind IN ('EARN', 'CAMPAIGN_BONUS', 'TIER_BONUS')
               OR (kind = 'ADJUST' AND points > 0)
        ), 0) AS points_issued,
        coalesce(-sum(points) FILTER (WHERE kind = 'REDEEM'), 0) AS points_redeemed,
        coalesce(-sum(points) FILTER (WHERE kind = 'EXPIRE'), 0) AS points_expired,
        coalesce(-sum(points) FILTER (WHERE kind = 'RETURN'), 0) AS points_returned,
        coalesce(sum(points), 0) AS points_net
    FROM ledger
    GROUP BY period
),

per_period AS (
    SELECT
        periods.period,
        coalesce(enrolled.enrollments, 0) AS enrollments,
        coalesce(closed.closures, 0) AS closures,
        coalesce(sales.active_members, 0) AS active_members,
        coalesce(retained.retained_members, 0) AS retained_members,
        CAST(coalesce(sales.sale_receipts, 0) AS BIGINT) AS sale_receipts,
        coalesce(sales.sales_amount, 0) AS sales_amount,
        coalesce(sales.returns_amount, 0) AS returns_amount,
        coalesce(points.points_issued, 0) AS points_issued,
        coalesce(points.points_redeemed, 0) AS points_redeemed,
        coalesce(points.points_expired, 0) AS points_expired,
        coalesce(points.points_returned, 0) AS points_returned,
        coalesce(points.points_net, 0) AS points_net
    FROM periods
    LEFT JOIN enrolled USING (period)
    LEFT JOIN closed USING (period)
    LEFT JOIN retained USING (period)
    LEFT JOIN sales USING (period)
    LEFT JOIN points USING (period)
),

running AS (
    SELECT
        *,
        sum(enrollments) OVER to_date AS members_enrolled_to_date,
        coalesce(sum(closures) OVER before_period, 0) AS members_closed_before,
        lag(active_members) OVER by_period AS previous_active_members,
        sum(sales_amount - returns_amount) OVER to_date AS net_sales_to_date,
        sum(points_issued) OVER to_date AS points_issued_to_date,
        sum(points_redeemed) OVER to_date AS points_redeemed_to_date,
        sum(points_net) OVER to_date AS outstanding_points
    FROM per_period
    WINDOW
        by_period AS (ORDER BY period),
        to_date AS (ORDER BY period ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
        before_period AS (ORDER BY period ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),

final AS (
    SELECT
        period,
        CASE WHEN grain = 'day' THEN period ELSE last_day(period) END AS period_end,
        enrollments,
        CAST(members_enrolled_to_date - members_closed_before AS BIGINT) AS member_base,
        active_members,
        round(active_members / nullif(members_enrolled_to_date - members_closed_before, 0), 4)
            AS engagement_rate,
        retained_members,
        round(retained_members / nullif(previous_active_members, 0), 4) AS retention_rate,
        sale_receipts,
        round(sale_receipts / nullif(active_members, 0), 4) AS purchase_frequency,
        sales_amount,
        returns_amount,
        CAST(round(sales_amount / nullif(sale_receipts, 0), 2) AS DECIMAL(18, 2))
            AS average_basket,
        CAST(round(net_sales_to_date / nullif(members_enrolled_to_date, 0), 2) AS DECIMAL(18, 2))
            AS lifetime_value,
        CAST(points_issued AS BIGINT) AS points_issued,
        CAST(points_redeemed AS BIGINT) AS points_redeemed,
        CAST(points_expired AS BIGINT) AS points_expired,
        CAST(points_returned AS BIGINT) AS points_returned,
        round(points_redeemed_to_date / nullif(points_issued_to_date, 0), 4) AS redemption_rate,
        CAST(outstanding_points AS BIGINT) AS outstanding_points
    FROM running
)

SELECT * FROM final ORDER BY period
