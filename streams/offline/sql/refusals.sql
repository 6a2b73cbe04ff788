-- The rules' refusals in a store: the code and member of each dead letter the rules wrote
-- (the codec's and the addressing's codes depend on how an input travelled: a broken file
-- line and a broken Kafka record are refused by different checks).
SELECT error_code, key AS member_id
FROM {db}.dead_letters
WHERE error_code NOT IN (
    'bad_framing', 'unknown_schema', 'bad_avro', 'wrong_record_type', 'message_too_large',
    'invalid_receipt', 'invalid_member_event', 'invalid_review_tick', 'bad_json',
    'unknown_type', 'key_mismatch', 'wrong_partition', 'empty_payload'
)
