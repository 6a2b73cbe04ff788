-- stg_receipts: the receipts the engine accepted. A receipt the worker dead-lettered
-- (invalid, unmatched return, conflicting duplicate) is in `receipts` as sent, flagged
-- `refused` by the store when its dead letter and it have both arrived; it is no sale.
CREATE OR REPLACE VIEW stg_receipts AS
WITH

final AS (
    SELECT * EXCLUDE (refused)
    FROM main.receipts
    WHERE NOT refused
)

SELECT * FROM final
