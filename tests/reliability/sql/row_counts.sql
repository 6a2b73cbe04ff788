-- Rows of a table and distinct keys among them: equal when nothing was stored twice.
SELECT count(*), count(DISTINCT {key}) FROM {table}
