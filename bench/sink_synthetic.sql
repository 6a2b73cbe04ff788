-- A synthetic year of a loyalty program at the size the benchmark asks for, written straight
-- into the store's tables. Not realistic in detail; realistic in size and shape: ~2.5 lines a
-- receipt, 5% returns, a ledger entry per receipt plus bonuses, a member per 10 receipts, 1
-- refused receipt in 97 of the first 97,000. Variables: first (the first receipt number: 0
-- lays the program too), receipts (how many to add), members (how many after this chunk),
-- per_year (receipts a year: their spacing in time). Run again with first = the receipts so
-- far to grow a store chunk by chunk.
INSERT INTO program_tiers
SELECT * FROM (VALUES
    (0, 'Member', 0, 1), (1, 'Silver', 10000, 1.5), (2, 'Gold', 25000, 2), (3, 'Platinum', 50000, 3)
) WHERE getvariable('first') = 0;

INSERT INTO members
SELECT
    'm' || i,
    CASE WHEN i % 500 = 0 THEN 'closed' WHEN i % 300 = 0 THEN 'blocked' ELSE 'active' END,
    ['Member', 'Member', 'Member', 'Silver', 'Silver', 'Gold', 'Platinum'][1 + i % 7],
    (hash(i) % 30000)::BIGINT,
    (hash(i + 1) % 60000)::BIGINT,
    'Gold',
    (hash(i + 2) % 20000)::BIGINT,
    (hash(i + 3) % 15000)::BIGINT,
    1.5,
    TIMESTAMPTZ '2024-01-01 12:00:00+00' + to_seconds((i * 31536000 // getvariable('members'))),
    TIMESTAMPTZ '2025-01-01 12:00:00+00',
    CASE WHEN i % 500 <> 0 THEN 'Member ' || i END,
    CASE WHEN i % 500 <> 0 THEN 'member' || i || '@example.org' END,
    NULL,
    CAST(TIMESTAMPTZ '2024-01-01 12:00:00+00'
        + to_seconds((i * 31536000 // getvariable('members'))) AS DATE),
    DATE '2025-01-01'
-- A member for every 10 receipts: a store grown chunk by chunk grows its members too.
FROM range(getvariable('first') // 10, getvariable('members')) AS t(i);

INSERT INTO member_events
SELECT
    'e-enrol-' || i, 'm' || i, 'enrolled',
    TIMESTAMPTZ '2024-01-01 12:00:00+00' + to_seconds((i * 31536000 // getvariable('members'))),
    CAST(TIMESTAMPTZ '2024-01-01 12:00:00+00'
        + to_seconds((i * 31536000 // getvariable('members'))) AS DATE),
    'Member ' || i, 'member' || i || '@example.org', NULL, true, false,
    NULL, NULL, NULL, false, NULL, 'loyalty.member-events', (i % 8)::INTEGER, i // 8
-- A member for every 10 receipts: a store grown chunk by chunk grows its members too.
FROM range(getvariable('first') // 10, getvariable('members')) AS t(i);

INSERT INTO receipts
SELECT
    'r' || i,
    'm' || (hash(i) % getvariable('members')),
    's' || (i % 50),
    't' || (i % 4),
    ts,
    CAST(timezone('America/New_York', ts) AS DATE),
    'USD',
    CASE WHEN i % 20 = 19 THEN 'RETURN' ELSE 'SALE' END,
    CASE WHEN i % 20 = 19 THEN 'r' || (i - 1) END,
    (10 + (hash(i) % 20000) / 100)::DECIMAL(12, 2),
    2 + (i % 2)::INTEGER,
    'pos.receipts', (i % 8)::INTEGER, i // 8
FROM (
    SELECT i, TIMESTAMPTZ '2024-01-01 05:00:00+00'
        + to_seconds((i % getvariable('per_year')) * 31536000 // getvariable('per_year')) AS ts
    FROM range(getvariable('first'), getvariable('first') + getvariable('receipts')) AS t(i)
);

INSERT INTO receipt_lines
SELECT receipt_id, line_no, 'sku-' || (hash(receipt_id || line_no) % 5000),
    ['grocery', 'apparel', 'home', 'gift_card'][1 + line_no], 1, total / line_count,
    total / line_count
FROM receipts, range(1, 4) AS l(line_no)
WHERE line_no <= line_count AND source_offset * 8 + source_partition >= getvariable('first');

INSERT INTO ledger
SELECT
    'l-' || receipt_id, member_id, occurred_at, local_date,
    CASE kind WHEN 'SALE' THEN 'EARN' ELSE 'RETURN' END,
    CASE kind WHEN 'SALE' THEN floor(total)::BIGINT ELSE -floor(total)::BIGINT END,
    CASE kind WHEN 'SALE' THEN floor(total)::BIGINT ELSE -floor(total)::BIGINT END,
    0, 'Member', 1, receipt_id, NULL, NULL, 'Member (x1)', NULL, NULL
FROM receipts
WHERE source_offset * 8 + source_partition >= getvariable('first');

INSERT INTO ledger
SELECT
    'lc-' || receipt_id, member_id, occurred_at, local_date, 'CAMPAIGN_BONUS',
    floor(total)::BIGINT, 0, 0, 'Member', 1, receipt_id, NULL, 'c' || (source_offset % 12),
    'campaign bonus', NULL, NULL
FROM receipts
WHERE kind = 'SALE' AND source_offset % 10 = 0
  AND source_offset * 8 + source_partition >= getvariable('first');

INSERT INTO ledger
SELECT
    'lr-' || i, 'm' || (hash(i + 7) % getvariable('members')),
    TIMESTAMPTZ '2024-01-01 12:00:00+00' + to_seconds((i * 31536000 // 40000)),
    CAST(TIMESTAMPTZ '2024-01-01 12:00:00+00' + to_seconds((i * 31536000 // 40000)) AS DATE),
    ['REDEEM', 'REDEEM', 'EXPIRE', 'ADJUST'][1 + i % 4],
    CASE WHEN i % 4 = 3 THEN 50 ELSE -(100 + i % 500) END, 0, 0, 'Member', 1, NULL,
    'e-' || i, NULL, '', CASE WHEN i % 4 = 3 THEN 'agent-' || (i % 9) END,
    CASE WHEN i % 4 = 3 THEN 'goodwill' END
FROM range(40000) AS t(i)
WHERE getvariable('first') = 0;

INSERT INTO tier_changes
SELECT
    'tc-' || i, 'm' || (i * 3 % getvariable('members')),
    ['Member', 'Silver', 'Gold', 'Silver'][1 + i % 4],
    ['Silver', 'Gold', 'Platinum', 'Member'][1 + i % 4],
    CASE WHEN i % 4 = 3 THEN 'DOWN' ELSE 'UP' END, 10000,
    TIMESTAMPTZ '2024-01-01 12:00:00+00' + to_seconds((i * 31536000 // 30000)),
    CAST(TIMESTAMPTZ '2024-01-01 12:00:00+00' + to_seconds((i * 31536000 // 30000)) AS DATE),
    'qualifying points reached 10000'
FROM range(30000) AS t(i)
WHERE getvariable('first') = 0;

INSERT INTO dead_letters
SELECT
    md5('dl' || i), 'pos.receipts', (i * 97 % 8)::INTEGER, i * 97 // 8, 'm1', 'invalid_receipt',
    'total', NULL, TIMESTAMPTZ '2024-06-01 12:00:00+00', DATE '2024-06-01', NULL
FROM range(1000) AS t(i)
WHERE getvariable('first') = 0;
