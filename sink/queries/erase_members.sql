-- Erase the personal data of the members in `batch_erased` from every table that holds it,
-- in the sink's transaction. The rows stay (facts keep the member id); the old values leave
-- the files at the store's next maintenance, which `erasure_pending` asks for.
INSERT INTO erased_members
SELECT member_id, min(erased_at) FROM batch_erased
WHERE member_id NOT IN (SELECT member_id FROM erased_members)
GROUP BY member_id;

-- Anonymization is irreversible: the membership is closed whatever snapshot comes next.
UPDATE members SET status = 'closed', name = NULL, email = NULL, phone = NULL
WHERE member_id IN (SELECT member_id FROM batch_erased);

UPDATE member_events SET name = NULL, email = NULL, phone = NULL
WHERE member_id IN (SELECT member_id FROM batch_erased)
  AND (name IS NOT NULL OR email IS NOT NULL OR phone IS NOT NULL);

UPDATE notifications SET recipient = NULL, subject = NULL, body = NULL
WHERE member_id IN (SELECT member_id FROM batch_erased)
  AND (recipient IS NOT NULL OR subject IS NOT NULL OR body IS NOT NULL);

UPDATE dead_letters SET error = NULL, payload = NULL
WHERE key IN (SELECT member_id FROM batch_erased)
  AND (error IS NOT NULL OR payload IS NOT NULL);

DELETE FROM sink_meta WHERE key = 'erasure_pending';
INSERT INTO sink_meta VALUES ('erasure_pending', 'true');
