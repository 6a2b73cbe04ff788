-- The rows of batch table {table} whose key {key} comes first in the batch (the first
-- version stands), each marked `hashed_before` when the writer's index of stored keys holds
-- its 64-bit hash: such a key is a repeat (or, rarely, a collision) and is checked against
-- the table itself; any other key is new.
SELECT
    f.*,
    EXISTS (SELECT 1 FROM memory.main.seen_{table} AS s WHERE s.h = hash(f.{key})) AS hashed_before
FROM (
    SELECT * FROM batch_firsts
    QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY batch_row) = 1
) AS f
