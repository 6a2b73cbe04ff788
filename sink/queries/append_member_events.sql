-- Append a batch of member events. Members already erased arrive without personal data, so
-- a lagging topic cannot bring it back; a stored event id was left out of the batch before.
INSERT INTO member_events BY NAME
SELECT
    b.* REPLACE (
        CASE WHEN e.member_id IS NULL THEN b.name END AS name,
        CASE WHEN e.member_id IS NULL THEN b.email END AS email,
        CASE WHEN e.member_id IS NULL THEN b.phone END AS phone
    ),
    CAST(timezone($tz, b.occurred_at) AS DATE) AS local_date
FROM batch_member_events AS b
LEFT JOIN erased_members AS e ON e.member_id = b.member_id
