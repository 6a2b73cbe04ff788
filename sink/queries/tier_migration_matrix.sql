-- Tier changes over the whole history, from tier x to tier, for the report's matrix.
SELECT
    from_tier,
    to_tier,
    min(from_rank) AS from_rank,
    min(to_rank) AS to_rank,
    sum(changes) AS changes
FROM tier_migrations_monthly
GROUP BY from_tier, to_tier
ORDER BY from_rank NULLS LAST, to_rank NULLS LAST, from_tier, to_tier
