-- Members per tier now, the highest tier first (by its threshold in the program).
SELECT m.tier, count(*) AS members
FROM members AS m
LEFT JOIN program_tiers AS t ON t.name = m.tier
GROUP BY m.tier
ORDER BY max(t.threshold) DESC NULLS LAST
