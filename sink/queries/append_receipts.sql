-- Append a batch of receipts (the batch holds only receipts not stored yet). Whether the worker
-- refused one is read from the dead letters by stg_receipts, whichever arrived first.
INSERT INTO receipts BY NAME
SELECT
    b.*,
    CAST(timezone($tz, b.occurred_at) AS DATE) AS local_date
FROM batch_receipts AS b
