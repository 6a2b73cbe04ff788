-- The lines of one member's receipts that appear in the feed ($member_id, $receipt_ids).
SELECT receipt_lines.*
FROM receipt_lines
JOIN receipts ON receipts.receipt_id = receipt_lines.receipt_id
WHERE receipts.member_id = $member_id
  AND list_contains($receipt_ids, receipt_lines.receipt_id)
ORDER BY receipt_lines.receipt_id, receipt_lines.line_no
