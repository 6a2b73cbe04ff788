-- Three members worth a look: the one with the most qualifying points, one whose feed has
-- both a campaign bonus and a return, and one whose points support staff adjusted.
(SELECT member_id FROM members WHERE status = 'active'
 ORDER BY qualifying_points DESC, member_id LIMIT 1)
UNION ALL
(SELECT member_id FROM ledger
 WHERE kind = 'RETURN'
   AND member_id IN (SELECT member_id FROM ledger WHERE kind = 'CAMPAIGN_BONUS')
 ORDER BY member_id LIMIT 1)
UNION ALL
(SELECT member_id FROM ledger WHERE kind = 'ADJUST' ORDER BY member_id LIMIT 1)
