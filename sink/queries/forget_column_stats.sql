-- (SQLite, on a DuckLake catalog) Forget a column's table-wide min and max: DuckLake widens
-- them as files come and never narrows them, so after an erasure they may still quote an
-- erased value. NULL means "unknown": readers then skip no file on that column's account.
-- Parameters: table name, column name.
UPDATE ducklake_table_column_stats
SET min_value = NULL, max_value = NULL
WHERE (table_id, column_id) IN (
    SELECT c.table_id, c.column_id
    FROM ducklake_column AS c
    JOIN ducklake_table AS t ON t.table_id = c.table_id
    WHERE t.end_snapshot IS NULL AND c.end_snapshot IS NULL
      AND t.table_name = ? AND c.column_name = ?
)
