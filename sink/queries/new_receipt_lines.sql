-- The lines of the batch's new receipts (`batch_receipts`, stored ones left out), each
-- (receipt_id, line_no) once: a receipt stored before keeps its lines.
SELECT l.* EXCLUDE (batch_row)
FROM batch_lines AS l
SEMI JOIN batch_receipts AS r ON r.receipt_id = l.receipt_id
QUALIFY row_number() OVER (PARTITION BY l.receipt_id, l.line_no ORDER BY l.batch_row) = 1
