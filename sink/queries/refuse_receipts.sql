-- Flag the stored receipts this batch's dead letters refer to (the worker refused them): by
-- source position, or, for letters without one, by the receipt id read from the payload.
UPDATE receipts SET refused = true
FROM (
    SELECT DISTINCT source_topic, "partition", "offset"
    FROM batch_dead_letters
    WHERE "offset" >= 0
) AS d
WHERE d.source_topic = receipts.source_topic
  AND d."partition" = receipts.source_partition
  AND d."offset" = receipts.source_offset
  AND NOT receipts.refused;

UPDATE receipts SET refused = true
WHERE receipt_id IN (SELECT receipt_id FROM batch_dead_letters WHERE receipt_id IS NOT NULL)
  AND NOT refused;
