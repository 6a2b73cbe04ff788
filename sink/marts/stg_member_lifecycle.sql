-- stg_member_lifecycle: one row per member: when they enrolled and when (if) they closed.
--   enrolled_on: local date of `members.enrolled_at`; for a member without a snapshot, the
--                local date of their first accepted receipt or member event.
--   closed_on:   local date of their `anonymized` event (or of the closed snapshot).
--   initial_tier: the tier they started in (the first change's from_tier, else their tier).
CREATE OR REPLACE VIEW stg_member_lifecycle AS
WITH

program AS (
    SELECT value AS timezone FROM main.sink_meta WHERE key = 'timezone'
),

first_seen AS (
    SELECT member_id, min(local_date) AS first_date
    FROM (
        SELECT member_id, local_date FROM stg_receipts
        UNION ALL
        SELECT member_id, local_date FROM main.member_events
    )
    GROUP BY member_id
),

snapshots AS (
    SELECT
        members.member_id,
        members.tier,
        members.status,
        CAST(timezone(program.timezone, members.enrolled_at) AS DATE) AS enrolled_on,
        CAST(timezone(program.timezone, members.updated_at) AS DATE) AS updated_on
    FROM main.members, program
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

final AS (
    SELECT
        coalesce(snapshots.member_id, first_seen.member_id) AS member_id,
        coalesce(snapshots.enrolled_on, first_seen.first_date) AS enrolled_on,
        coalesce(
            anonymized.closed_on,
            CASE WHEN snapshots.status = 'closed' THEN snapshots.updated_on END
        ) AS closed_on,
        coalesce(
            first_changes.first_from_tier,
            snapshots.tier,
            (SELECT name FROM base_tier),
            'unknown'
        ) AS initial_tier
    FROM snapshots
    FULL JOIN first_seen ON first_seen.member_id = snapshots.member_id
    LEFT JOIN anonymized
        ON anonymized.member_id = coalesce(snapshots.member_id, first_seen.member_id)
    LEFT JOIN first_changes
        ON first_changes.member_id = coalesce(snapshots.member_id, first_seen.member_id)
)

SELECT * FROM final
