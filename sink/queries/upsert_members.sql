-- Insert the batch's member snapshots, after the store deleted the stored rows of the same
-- members: the last one per member in the batch wins. An erased member stays closed, its
-- personal data null, whatever arrives.
INSERT INTO members BY NAME
SELECT
    b.* EXCLUDE (batch_seq) REPLACE (
        CASE WHEN e.member_id IS NULL THEN b.status ELSE 'closed' END AS status,
        CASE WHEN e.member_id IS NULL THEN b.name END AS name,
        CASE WHEN e.member_id IS NULL THEN b.email END AS email,
        CASE WHEN e.member_id IS NULL THEN b.phone END AS phone
    ),
    CAST(timezone($tz, b.enrolled_at) AS DATE) AS enrolled_on,
    CAST(timezone($tz, b.updated_at) AS DATE) AS updated_on
FROM batch_members AS b
LEFT JOIN erased_members AS e ON e.member_id = b.member_id
QUALIFY row_number() OVER (PARTITION BY b.member_id ORDER BY b.batch_seq DESC) = 1
