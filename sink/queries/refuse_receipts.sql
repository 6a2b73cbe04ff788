-- Flag the stored receipts this batch's dead letters refer to (the worker refused them).
UPDATE receipts SET refused = true
FROM (
    SELECT DISTINCT source_topic, "partition", "offset"
    FROM batch_dead_letters
    WHERE "offset" >= 0
) AS d
WHERE d.source_topic = receipts.source_topic
  AND d."partition" = receipts.source_partition
  AND d."offset" = receipts.source_offset
  AND NOT receipts.refused
