-- campaign_performance: what each campaign gave and what it drove. Bonus points awarded by
-- CAMPAIGN_BONUS entries, net of the part taken back by returns, the receipts and members
-- it reached and the sales on those receipts.
CREATE OR REPLACE VIEW campaign_performance AS
WITH

campaign_entries AS (
    SELECT * FROM main.ledger WHERE campaign_id IS NOT NULL
),

bonus_receipts AS (
    SELECT DISTINCT campaign_id, receipt_id
    FROM campaign_entries
    WHERE kind = 'CAMPAIGN_BONUS' AND receipt_id IS NOT NULL
),

receipt_sales AS (
    SELECT bonus_receipts.campaign_id, sum(stg_receipts.total) AS sales_amount
    FROM bonus_receipts
    JOIN stg_receipts ON stg_receipts.receipt_id = bonus_receipts.receipt_id
    GROUP BY bonus_receipts.campaign_id
),

awards AS (
    SELECT
        campaign_id,
        min(local_date) FILTER (WHERE kind = 'CAMPAIGN_BONUS') AS first_date,
        max(local_date) FILTER (WHERE kind = 'CAMPAIGN_BONUS') AS last_date,
        count(DISTINCT receipt_id) FILTER (WHERE kind = 'CAMPAIGN_BONUS') AS receipts,
        count(DISTINCT member_id) FILTER (WHERE kind = 'CAMPAIGN_BONUS') AS members,
        CAST(coalesce(sum(points) FILTER (WHERE kind = 'CAMPAIGN_BONUS'), 0) AS BIGINT)
            AS bonus_points,
        CAST(sum(points) AS BIGINT) AS net_bonus_points
    FROM campaign_entries
    GROUP BY campaign_id
),

final AS (
    SELECT
        awards.*,
        coalesce(receipt_sales.sales_amount, 0) AS sales_amount,
        round(awards.bonus_points / nullif(awards.receipts, 0), 2) AS bonus_points_per_receipt
    FROM awards
    LEFT JOIN receipt_sales USING (campaign_id)
)

SELECT * FROM final ORDER BY bonus_points DESC, campaign_id
