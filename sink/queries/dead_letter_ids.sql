-- A dead letter's identity: its source position, or for offset -1 (a file or the rules) its
-- content too, so a replayed batch cannot store it twice.
SELECT
    *,
    md5(concat_ws(
        '|', source_topic, "partition", "offset", error_code,
        CASE WHEN "offset" < 0 THEN md5(payload) END,
        CASE WHEN "offset" < 0 THEN epoch_ms(failed_at) END
    )) AS dead_letter_id
FROM batch_dead_letters
