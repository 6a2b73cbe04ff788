-- Rows in the main tables, for a one-line summary.
SELECT 'receipts' AS name, count(*) AS count FROM receipts
UNION ALL SELECT 'ledger entries', count(*) FROM ledger
UNION ALL SELECT 'tier changes', count(*) FROM tier_changes
UNION ALL SELECT 'notifications', count(*) FROM notifications
UNION ALL SELECT 'dead letters', count(*) FROM dead_letters
