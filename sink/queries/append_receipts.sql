-- Append a batch of receipts; one whose dead letter is already stored arrives `refused`
-- (matched by position, or, for a letter without one, by the receipt id in its payload).
INSERT OR IGNORE INTO receipts BY NAME
SELECT
    b.*,
    CAST(timezone($tz, b.occurred_at) AS DATE) AS local_date,
    coalesce(by_position.refused, by_id.refused, false) AS refused
FROM batch_receipts AS b
LEFT JOIN (
    SELECT DISTINCT source_topic, "partition", "offset", true AS refused
    FROM dead_letters
    WHERE "offset" >= 0
) AS by_position
    ON by_position.source_topic = b.source_topic
    AND by_position."partition" = b.source_partition
    AND by_position."offset" = b.source_offset
LEFT JOIN (
    SELECT DISTINCT receipt_id, true AS refused
    FROM dead_letters
    WHERE receipt_id IS NOT NULL
) AS by_id
    ON by_id.receipt_id = b.receipt_id
