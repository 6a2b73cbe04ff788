-- Every input offset the sink has read, and what became of it: one row per offset of the
-- receipts and member-events topics (from 0 up to the offset the sink stored next, so a topic
-- with deleted history needs a later start). Parameters: $receipts_topic, $member_events_topic
-- (full names, with any prefix).
--   dead_lettered  a dead letter names this offset (error_code says why)
--   refused        stored, and the ledger records the refusal (NOT_CREDITED of a blocked or
--                  closed member's receipt, REDEMPTION_REFUSED)
--   credited       stored, and a ledger entry moves points for it
--   recorded       stored with no points to move (an enrolment, a profile update, a block)
--   unaccounted    none of these: a message lost between the topic and the store
WITH positions AS (
    SELECT topic, "partition", unnest(range(next_offset)) AS "offset"
    FROM sink_offsets
    WHERE topic IN ($receipts_topic, $member_events_topic)
),
dead AS (
    SELECT source_topic AS topic, "partition", "offset", min(error_code) AS error_code
    FROM dead_letters
    WHERE "offset" >= 0
    GROUP BY ALL
),
stored AS (
    SELECT source_topic AS topic, source_partition AS "partition", source_offset AS "offset",
           receipt_id AS message_id, 'receipt' AS kind
    FROM receipts
    UNION ALL
    SELECT source_topic, source_partition, source_offset, event_id, 'member_event'
    FROM member_events
),
entries AS (
    SELECT coalesce(receipt_id, event_id) AS message_id,
           bool_or(kind IN ('NOT_CREDITED', 'REDEMPTION_REFUSED')) AS refused,
           string_agg(DISTINCT kind, ',' ORDER BY kind) AS kinds
    FROM ledger
    WHERE coalesce(receipt_id, event_id) IS NOT NULL
    GROUP BY 1
)
SELECT
    p.topic,
    p."partition",
    p."offset",
    s.message_id,
    CASE
        WHEN d.error_code IS NOT NULL THEN 'dead_lettered'
        WHEN s.message_id IS NULL THEN 'unaccounted'
        WHEN e.refused THEN 'refused'
        WHEN e.message_id IS NOT NULL THEN 'credited'
        ELSE 'recorded'
    END AS outcome,
    d.error_code,
    e.kinds AS ledger_kinds
FROM positions AS p
LEFT JOIN dead AS d USING (topic, "partition", "offset")
LEFT JOIN stored AS s USING (topic, "partition", "offset")
LEFT JOIN entries AS e ON e.message_id = s.message_id
ORDER BY p.topic, p."partition", p."offset"
