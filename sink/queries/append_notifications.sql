-- Append a batch of notifications; an erased member's arrive without recipient and text
-- (templates may put the member's name in the subject or the body).
INSERT INTO notifications BY NAME
SELECT
    b.* REPLACE (
        CASE WHEN e.member_id IS NULL THEN b.recipient END AS recipient,
        CASE WHEN e.member_id IS NULL THEN b.subject END AS subject,
        CASE WHEN e.member_id IS NULL THEN b.body END AS body
    ),
    CAST(timezone($tz, b.created_at) AS DATE) AS local_date
FROM batch_notifications AS b
LEFT JOIN erased_members AS e ON e.member_id = b.member_id
