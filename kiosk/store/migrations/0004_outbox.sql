-- Outbox to the county (DESIGN.md §8).
-- A row is written in the same transaction as the record it carries and is never
-- deleted before the county acknowledged it. `id` is the enqueue order; within one
-- order_key messages are delivered strictly in `id` order.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT    NOT NULL UNIQUE,        -- stable; the county drops duplicates by it
    kind            TEXT    NOT NULL,               -- case, case_status, rating, complaint, ...
    order_key       TEXT    NOT NULL,               -- e.g. case:123; one ordered stream per key
    payload         TEXT    NOT NULL,               -- JSON, semantic values (level names, not codes)
    created_at      TEXT    NOT NULL,               -- ISO-8601 with offset
    state           TEXT    NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'acked', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,     -- batches this message was part of
    last_attempt_at TEXT,
    last_error      TEXT,                           -- transport error of the last attempt
    acked_at        TEXT,
    ack_status      TEXT    CHECK (ack_status IS NULL OR ack_status IN ('accepted', 'duplicate')),
    county_ref      TEXT,                           -- what the county returned (e.g. its 办件编号)
    dead_at         TEXT,
    dead_code       TEXT,                           -- the county's rejection code
    dead_reason     TEXT,                           -- the county's rejection reason, verbatim
    retried         INTEGER NOT NULL DEFAULT 0      -- times a technician sent a dead letter again
);
CREATE INDEX outbox_state ON outbox (state, id);
CREATE INDEX outbox_key ON outbox (order_key, state, id);

-- Relay bookkeeping that must survive a restart (last success, last error, sync versions).
CREATE TABLE relay_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
