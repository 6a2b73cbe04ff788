-- member_activity: the explained feed support staff read. One row per ledger entry (what
-- moved, at which tier and rate: "Gold (x2)", excluded lines named in the description, the
-- campaign, an adjustment's actor and reason) and one per tier change.
CREATE OR REPLACE VIEW member_activity AS
WITH

ledger AS (
    SELECT * FROM main.ledger
),

entries AS (
    SELECT
        ledger.member_id,
        ledger.occurred_at,
        ledger.local_date,
        ledger.kind,
        ledger.points,
        ledger.qualifying_points,
        ledger.balance_after,
        ledger.tier,
        ledger.multiplier,
        ledger.description,
        ledger.campaign_id,
        ledger.receipt_id,
        receipts.store_id,
        receipts.kind AS receipt_kind,
        receipts.total AS receipt_total,
        ledger.event_id,
        member_events.type AS event_type,
        member_events.reward_id,
        ledger.actor,
        ledger.reason,
        ledger.entry_id AS activity_id
    FROM ledger
    LEFT JOIN main.receipts ON receipts.receipt_id = ledger.receipt_id
    LEFT JOIN main.member_events ON member_events.event_id = ledger.event_id
),

tier_moves AS (
    SELECT
        member_id,
        effective_at AS occurred_at,
        local_date,
        'TIER_CHANGE' AS kind,
        0 AS points,
        0 AS qualifying_points,
        NULL AS balance_after,
        to_tier AS tier,
        NULL AS multiplier,
        from_tier || ' -> ' || to_tier || ' (' || direction || '): ' || reason AS description,
        NULL AS campaign_id,
        NULL AS receipt_id,
        NULL AS store_id,
        NULL AS receipt_kind,
        NULL AS receipt_total,
        event_id,
        NULL AS event_type,
        NULL AS reward_id,
        NULL AS actor,
        reason,
        event_id AS activity_id
    FROM main.tier_changes
),

final AS (
    SELECT * FROM entries
    UNION ALL BY NAME
    SELECT * FROM tier_moves
)

SELECT * FROM final
