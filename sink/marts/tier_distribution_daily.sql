-- tier_distribution_daily: how many open memberships sat in each tier at the end of each
-- local date. A member counts from enrollment in their initial tier, moves with every tier
-- change (effective local date), and stops counting the day they close.
CREATE OR REPLACE VIEW tier_distribution_daily AS
WITH

lifecycle AS (
    SELECT * FROM stg_member_lifecycle WHERE enrolled_on IS NOT NULL
),

changes AS (
    SELECT member_id, from_tier, to_tier, local_date, effective_at FROM main.tier_changes
),

tier_at_close AS (
    SELECT
        lifecycle.member_id,
        lifecycle.closed_on,
        coalesce(
            arg_max(changes.to_tier, changes.effective_at)
                FILTER (WHERE changes.local_date <= lifecycle.closed_on),
            any_value(lifecycle.initial_tier)
        ) AS tier
    FROM lifecycle
    LEFT JOIN changes ON changes.member_id = lifecycle.member_id
    WHERE lifecycle.closed_on IS NOT NULL
    GROUP BY lifecycle.member_id, lifecycle.closed_on
),

movements AS (
    SELECT enrolled_on AS local_date, initial_tier AS tier, 1 AS delta FROM lifecycle
    UNION ALL
    SELECT local_date, from_tier, -1 FROM changes
    UNION ALL
    SELECT local_date, to_tier, 1 FROM changes
    UNION ALL
    SELECT closed_on, tier, -1 FROM tier_at_close
),

daily_moves AS (
    SELECT local_date, tier, sum(delta) AS delta FROM movements GROUP BY ALL
),

-- Every day from the first enrollment to the last fact of any kind.
days AS (
    SELECT CAST(unnest(generate_series(
        (SELECT min(local_date) FROM daily_moves)::TIMESTAMP,
        greatest(
            (SELECT max(local_date) FROM daily_moves),
            (SELECT max(local_date) FROM main.ledger),
            (SELECT max(local_date) FROM stg_receipts)
        )::TIMESTAMP,
        INTERVAL 1 DAY
    )) AS DATE) AS local_date
),

tiers AS (
    SELECT DISTINCT tier FROM daily_moves
),

final AS (
    SELECT
        days.local_date,
        tiers.tier,
        program_tiers.rank AS tier_rank,
        CAST(sum(coalesce(daily_moves.delta, 0)) OVER (
            PARTITION BY tiers.tier ORDER BY days.local_date
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS BIGINT) AS members
    FROM days
    CROSS JOIN tiers
    LEFT JOIN daily_moves
        ON daily_moves.local_date = days.local_date AND daily_moves.tier = tiers.tier
    LEFT JOIN main.program_tiers ON program_tiers.name = tiers.tier
)

SELECT * FROM final ORDER BY local_date, tier_rank NULLS LAST, tier
