-- One member's explained activity feed, newest first ($member_id, $limit).
SELECT *
FROM member_activity
WHERE member_id = $member_id
ORDER BY occurred_at DESC, kind = 'TIER_CHANGE', activity_id DESC
LIMIT $limit
