-- stg_member_lifecycle: one row per member: when they enrolled and when (if) they closed.
--   enrolled_on:  local date of `members.enrolled_at`; for a member without a snapshot, the
--                 local date of their first accepted receipt or member event.
--   closed_on:    local date of their `anonymized` event (or of the closed snapshot).
--   initial_tier: the tier they started in (the first change's from_tier, else their tier).
CREATE OR REPLACE VIEW stg_member_lifecycle AS
WITH

snapshots AS (
    SELECT member_id, tier, status, enrolled_on, updated_on FROM main.members
),

-- Only members the members topic has not told us about need their first fact looked up.
first_seen AS (
    SELECT member_id, min(local_date) AS first_date
    FROM (
        SELECT member_id, local_date FROM stg_receipts
        UNION ALL
        SELECT member_id, local_date FROM main.member_events
    ) AS facts
    ANTI JOIN snapshots USING (member_id)
    GROUP BY member_id
),

anonymized AS (
    SELECT member_id, min(local_date) AS closed_on
    FROM main.member_events
    WHERE type = 'anonymized'
    GROUP BY member_id
),

first_changes AS (
    SELECT member_id, arg_min(from_tier, effective_at) AS first_from_tier
    FROM main.tier_changes
    GROUP BY member_id
),

base_tier AS (
    SELECT name FROM main.program_tiers WHERE rank = 0
),

everyone AS (
    SELECT member_id, enrolled_on, tier, status, updated_on FROM snapshots
    UNION ALL
    SELECT member_id, first_date, NULL, NULL, NULL FROM first_seen
),

final AS (
    SELECT
        everyone.member_id,
        everyone.enrolled_on,
        coalesce(
            anonymized.closed_on,
            CASE WHEN everyone.status = 'closed' THEN everyone.updated_on END
        ) AS closed_on,
        coalesce(
            first_changes.first_from_tier,
            everyone.tier,
            (SELECT name FROM base_tier),
            'unknown'
        ) AS initial_tier
    FROM everyone
    LEFT JOIN anonymized USING (member_id)
    LEFT JOIN first_changes USING (member_id)
)

SELECT * FROM final
