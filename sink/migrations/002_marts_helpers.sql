-- Columns that keep the marts fast at a million receipts.
-- receipts.refused: the worker dead-lettered this receipt (set when either the receipt or its
-- dead letter arrives second), so marts filter a flag instead of anti-joining every query.
-- members.enrolled_on / updated_on: program-timezone dates of the snapshot's times.
ALTER TABLE receipts ADD COLUMN refused BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE members ADD COLUMN enrolled_on DATE;
ALTER TABLE members ADD COLUMN updated_on DATE;

UPDATE receipts SET refused = true
WHERE EXISTS (
    SELECT 1 FROM dead_letters AS d
    WHERE d."offset" >= 0
      AND d.source_topic = receipts.source_topic
      AND d."partition" = receipts.source_partition
      AND d."offset" = receipts.source_offset
);

UPDATE members SET
    enrolled_on = CAST(timezone((SELECT value FROM sink_meta WHERE key = 'timezone'), enrolled_at) AS DATE),
    updated_on = CAST(timezone((SELECT value FROM sink_meta WHERE key = 'timezone'), updated_at) AS DATE);
