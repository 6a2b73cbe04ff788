-- One member's current state and totals, for `tierflow member ID` ($member_id).
WITH

member AS (
    SELECT * FROM members WHERE member_id = $member_id
),

purchases AS (
    SELECT
        count(*) FILTER (WHERE kind = 'SALE') AS sale_receipts,
        coalesce(sum(total) FILTER (WHERE kind = 'SALE'), 0)
            - coalesce(sum(total) FILTER (WHERE kind = 'RETURN'), 0) AS net_sales,
        max(local_date) AS last_purchase_on
    FROM stg_receipts
    WHERE member_id = $member_id
),

points AS (
    SELECT
        coalesce(sum(points) FILTER (WHERE points > 0), 0) AS points_credited,
        coalesce(-sum(points) FILTER (WHERE kind = 'REDEEM'), 0) AS points_redeemed,
        count(*) AS ledger_entries
    FROM ledger
    WHERE member_id = $member_id
)

SELECT
    $member_id AS member_id,
    member.status,
    member.name,
    member.email,
    member.phone,
    member.enrolled_at,
    member.tier,
    member.multiplier,
    member.balance,
    member.qualifying_points,
    member.next_tier,
    member.points_to_next_tier,
    member.points_at_risk_30d,
    member.updated_at,
    purchases.*,
    points.*
FROM purchases
CROSS JOIN points
LEFT JOIN member ON true
