-- The rules' refusals in a store: each dead letter's code and member (the key as sent).
SELECT error_code, key AS member_id FROM {db}.dead_letters
