-- Append a batch of dead letters (their ids computed by dead_letter_ids.sql, stored ones left
-- out); an erased member's arrive without error text and payload.
INSERT INTO dead_letters BY NAME
SELECT
    b.* REPLACE (
        CASE WHEN e.member_id IS NULL THEN b.error END AS error,
        CASE WHEN e.member_id IS NULL THEN b.payload END AS payload
    ),
    CAST(timezone($tz, b.failed_at) AS DATE) AS local_date
FROM batch_dead_letters AS b
LEFT JOIN erased_members AS e ON e.member_id = b.key
