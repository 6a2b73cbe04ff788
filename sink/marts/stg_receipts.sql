-- stg_receipts: the receipts the engine accepted. A receipt the worker dead-lettered
-- (invalid, unmatched return, conflicting duplicate) is in `receipts` as sent; it is no sale
-- once its dead letter is stored, whichever arrived first: the letter names the receipt's
-- position (topic, partition, offset), or, without one (offset -1: the offline replay), its
-- id (dead_letters.receipt_id). Dead letters are few: two small anti-joins per read, where a
-- flag on `receipts` would cost the sink an UPDATE of the receipt files per batch.
CREATE OR REPLACE VIEW stg_receipts AS
WITH

refused_positions AS (
    SELECT DISTINCT source_topic, "partition", "offset"
    FROM main.dead_letters
    WHERE "offset" >= 0
),

refused_ids AS (
    SELECT DISTINCT receipt_id FROM main.dead_letters WHERE receipt_id IS NOT NULL
),

final AS (
    SELECT receipts.*
    FROM main.receipts AS receipts
    ANTI JOIN refused_positions AS p
        ON p.source_topic = receipts.source_topic
        AND p."partition" = receipts.source_partition
        AND p."offset" = receipts.source_offset
    ANTI JOIN refused_ids AS i ON i.receipt_id = receipts.receipt_id
)

SELECT * FROM final
