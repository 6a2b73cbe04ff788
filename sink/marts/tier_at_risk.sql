-- tier_at_risk: open members whose qualifying points, once the points leaving the window in
-- the next 30 days are gone, fall below their tier's threshold: a downgrade is coming at a
-- daily review unless they buy (a hold period may still delay it). Needs the program's tiers.
CREATE OR REPLACE VIEW tier_at_risk AS
WITH

members AS (
    SELECT * FROM main.members WHERE status = 'active'
),

tiers AS (
    SELECT * FROM main.program_tiers
),

final AS (
    SELECT
        members.member_id,
        members.tier,
        tiers.threshold AS tier_threshold,
        members.qualifying_points,
        members.points_at_risk_30d,
        members.qualifying_points - members.points_at_risk_30d AS qualifying_points_in_30d,
        tiers.threshold - (members.qualifying_points - members.points_at_risk_30d)
            AS points_needed_to_keep_tier,
        below.name AS tier_below,
        members.next_tier,
        members.points_to_next_tier,
        members.balance,
        members.updated_at
    FROM members
    JOIN tiers ON tiers.name = members.tier
    LEFT JOIN tiers AS below ON below.rank = tiers.rank - 1
    WHERE tiers.rank > 0
      AND members.qualifying_points - members.points_at_risk_30d < tiers.threshold
)

SELECT * FROM final ORDER BY points_needed_to_keep_tier DESC, member_id
