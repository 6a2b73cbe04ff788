-- The contract's raw tables: one row per message the sink consumed, columns named after the
-- message fields. No PRIMARY KEY: DuckLake has no constraints, so the store keeps each key
-- unique itself (the `-- key` comments; sink/store.py, `KEYS`). `local_date` is the event time's date in the program timezone, filled at
-- insert so the marts group by a plain DATE. `source_*` columns say where a fact came from
-- (topic, partition, offset; a replay uses its file name, 0 and the line number), so marts can
-- leave out the inputs the worker dead-lettered.

CREATE TABLE receipts (
    receipt_id          VARCHAR NOT NULL,          -- key
    member_id           VARCHAR NOT NULL,
    store_id            VARCHAR NOT NULL,
    terminal_id         VARCHAR,
    occurred_at         TIMESTAMPTZ NOT NULL,
    local_date          DATE NOT NULL,
    currency            VARCHAR NOT NULL,
    kind                VARCHAR NOT NULL,          -- SALE | RETURN
    original_receipt_id VARCHAR,
    total               DECIMAL(12, 2) NOT NULL,
    line_count          INTEGER NOT NULL,
    source_topic        VARCHAR,
    source_partition    INTEGER,
    source_offset       BIGINT
);

CREATE TABLE receipt_lines (
    receipt_id  VARCHAR NOT NULL,
    line_no     INTEGER NOT NULL,                  -- 1-based position on the receipt (key: both)
    sku         VARCHAR NOT NULL,
    category    VARCHAR NOT NULL,
    quantity    INTEGER NOT NULL,
    unit_price  DECIMAL(12, 2) NOT NULL,
    amount      DECIMAL(12, 2) NOT NULL
);

CREATE TABLE member_events (
    event_id                 VARCHAR NOT NULL,     -- key
    member_id                VARCHAR NOT NULL,
    type                     VARCHAR NOT NULL,
    occurred_at              TIMESTAMPTZ NOT NULL,
    local_date               DATE NOT NULL,
    name                     VARCHAR,              -- personal data: erased on anonymization
    email                    VARCHAR,              -- personal data
    phone                    VARCHAR,              -- personal data
    consent_email            BOOLEAN,
    consent_sms              BOOLEAN,
    points                   BIGINT,
    actor                    VARCHAR,
    reason                   VARCHAR,
    counts_toward_qualifying BOOLEAN NOT NULL DEFAULT false,
    reward_id                VARCHAR,
    source_topic             VARCHAR,
    source_partition         INTEGER,
    source_offset            BIGINT
);

CREATE TABLE ledger (
    entry_id          VARCHAR NOT NULL,            -- key
    member_id         VARCHAR NOT NULL,
    occurred_at       TIMESTAMPTZ NOT NULL,
    local_date        DATE NOT NULL,
    kind              VARCHAR NOT NULL,
    points            BIGINT NOT NULL,
    qualifying_points BIGINT NOT NULL,
    balance_after     BIGINT NOT NULL,
    tier              VARCHAR NOT NULL,
    multiplier        DECIMAL(12, 4) NOT NULL,
    receipt_id        VARCHAR,
    event_id          VARCHAR,
    campaign_id       VARCHAR,
    description       VARCHAR NOT NULL DEFAULT '',
    actor             VARCHAR,
    reason            VARCHAR
);

CREATE TABLE tier_changes (
    event_id          VARCHAR NOT NULL,            -- key
    member_id         VARCHAR NOT NULL,
    from_tier         VARCHAR NOT NULL,
    to_tier           VARCHAR NOT NULL,
    direction         VARCHAR NOT NULL,            -- UP | DOWN
    qualifying_points BIGINT NOT NULL,
    effective_at      TIMESTAMPTZ NOT NULL,
    local_date        DATE NOT NULL,
    reason            VARCHAR NOT NULL
);

CREATE TABLE notifications (
    notification_id VARCHAR NOT NULL,              -- key
    member_id       VARCHAR NOT NULL,
    channel         VARCHAR NOT NULL,              -- EMAIL | SMS
    template        VARCHAR NOT NULL,
    recipient       VARCHAR,                       -- personal data: erased on anonymization
    subject         VARCHAR,                       -- may hold {name}: erased too
    body            VARCHAR,                       -- may hold {name}: erased too
    created_at      TIMESTAMPTZ NOT NULL,
    local_date      DATE NOT NULL
);

-- A dead letter's identity: its source position, or (offset -1: from a file or the rules)
-- its content, so a replayed batch cannot duplicate it.
CREATE TABLE dead_letters (
    dead_letter_id VARCHAR NOT NULL,               -- key
    source_topic   VARCHAR NOT NULL,
    "partition"    INTEGER NOT NULL,
    "offset"       BIGINT NOT NULL,
    key            VARCHAR,                        -- the member id, as sent
    error_code     VARCHAR NOT NULL,
    error          VARCHAR,                        -- may quote personal data: erased too
    payload        BLOB,                           -- the original bytes: erased too
    failed_at      TIMESTAMPTZ NOT NULL,
    local_date     DATE NOT NULL,
    -- The refused receipt, read from the payload of a letter without position (offset -1:
    -- the offline replay, a rule rejection re-encoded), so stg_receipts leaves it out too.
    receipt_id     VARCHAR
);

-- Current state per member, from the compacted `loyalty.members` topic (last write wins).
CREATE TABLE members (
    member_id           VARCHAR NOT NULL,          -- key: one row per member
    status              VARCHAR NOT NULL,          -- active | blocked | closed
    tier                VARCHAR,
    balance             BIGINT,
    qualifying_points   BIGINT,
    next_tier           VARCHAR,
    points_to_next_tier BIGINT,
    points_at_risk_30d  BIGINT,
    multiplier          DECIMAL(12, 4),
    enrolled_at         TIMESTAMPTZ,
    updated_at          TIMESTAMPTZ NOT NULL,
    name                VARCHAR,                   -- personal data: null once anonymized
    email               VARCHAR,
    phone               VARCHAR,
    enrolled_on         DATE,                      -- program-timezone dates of the times
    updated_on          DATE
);

-- The sink's own bookkeeping, committed in the same transaction as the rows.
CREATE TABLE sink_offsets (
    topic       VARCHAR NOT NULL,
    "partition" INTEGER NOT NULL,
    next_offset BIGINT NOT NULL                    -- key: (topic, partition)
);

-- Members whose personal data was erased; holds no personal data itself. Rows for these
-- members arriving later (a lagging topic) are stored with personal fields already null.
CREATE TABLE erased_members (
    member_id VARCHAR NOT NULL,                    -- key
    erased_at TIMESTAMPTZ NOT NULL
);

-- Store settings: the program timezone (`timezone`), a pending compaction (`erasure_pending`).
CREATE TABLE sink_meta (
    key   VARCHAR NOT NULL,                        -- key
    value VARCHAR NOT NULL
);

-- The program's tiers, for marts that need order or thresholds (tier_at_risk).
CREATE TABLE program_tiers (
    rank       INTEGER NOT NULL,                   -- key; 0 = the first tier
    name       VARCHAR NOT NULL,
    threshold  BIGINT NOT NULL,
    multiplier DECIMAL(12, 4) NOT NULL
);
