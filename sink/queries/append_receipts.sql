-- Append a batch of receipts; one whose dead letter is already stored arrives `refused`.
INSERT OR IGNORE INTO receipts BY NAME
SELECT
    b.*,
    CAST(timezone($tz, b.occurred_at) AS DATE) AS local_date,
    d.source_topic IS NOT NULL AS refused
FROM batch_receipts AS b
LEFT JOIN (
    SELECT DISTINCT source_topic, "partition", "offset" FROM dead_letters WHERE "offset" >= 0
) AS d
    ON d.source_topic = b.source_topic
    AND d."partition" = b.source_partition
    AND d."offset" = b.source_offset
