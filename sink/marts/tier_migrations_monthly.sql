-- tier_migrations_monthly: tier changes per month (program-timezone local date of the
-- change), from tier -> to tier: the matrix the report draws.
CREATE OR REPLACE VIEW tier_migrations_monthly AS
WITH

changes AS (
    SELECT * FROM main.tier_changes
),

final AS (
    SELECT
        strftime(date_trunc('month', changes.local_date), '%Y-%m') AS month,
        changes.from_tier,
        changes.to_tier,
        changes.direction,
        from_rank.rank AS from_rank,
        to_rank.rank AS to_rank,
        count(*) AS changes,
        count(DISTINCT changes.member_id) AS members
    FROM changes
    LEFT JOIN main.program_tiers AS from_rank ON from_rank.name = changes.from_tier
    LEFT JOIN main.program_tiers AS to_rank ON to_rank.name = changes.to_tier
    GROUP BY ALL
)

SELECT * FROM final ORDER BY month, from_rank NULLS LAST, to_rank NULLS LAST
