-- Append a batch of dead letters. The id is the source position, or for offset -1 (a file or
-- the rules) the content too; an erased member's arrive without error text and payload.
INSERT OR IGNORE INTO dead_letters BY NAME
SELECT
    b.* REPLACE (
        CASE WHEN e.member_id IS NULL THEN b.error END AS error,
        CASE WHEN e.member_id IS NULL THEN b.payload END AS payload
    ),
    md5(concat_ws(
        '|', b.source_topic, b."partition", b."offset", b.error_code,
        CASE WHEN b."offset" < 0 THEN md5(b.payload) END,
        CASE WHEN b."offset" < 0 THEN epoch_ms(b.failed_at) END
    )) AS dead_letter_id,
    CAST(timezone($tz, b.failed_at) AS DATE) AS local_date
FROM batch_dead_letters AS b
LEFT JOIN erased_members AS e ON e.member_id = b.key
