-- The receipt a dead letter refuses, when it came without a position (offset -1: the offline
-- replay, a rule rejection re-encoded): read from its payload, so such receipts are flagged
-- `refused` too and the replay's marts match the live sink's.
ALTER TABLE dead_letters ADD COLUMN receipt_id VARCHAR;
