-- stg_receipts: the receipts the engine accepted. A receipt the worker dead-lettered
-- (invalid, unmatched return, conflicting duplicate) is in `receipts` as sent, but is not a
-- sale: it is left out here, matched on its source position.
CREATE OR REPLACE VIEW stg_receipts AS
WITH

receipts AS (
    SELECT * FROM main.receipts
),

refused AS (
    SELECT source_topic, "partition", "offset"
    FROM main.dead_letters
    WHERE "offset" >= 0
),

final AS (
    SELECT receipts.*
    FROM receipts
    ANTI JOIN refused
        ON refused.source_topic = receipts.source_topic
        AND refused."partition" = receipts.source_partition
        AND refused."offset" = receipts.source_offset
)

SELECT * FROM final
