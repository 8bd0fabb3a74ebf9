-- Paired devices (issue 10, item 4): a window's rating tablet or a kiosk terminal is paired once
-- by a technician with a short one-time code; the device then keeps a long random token.
-- Only hashes of codes and tokens are stored, so a copy of the database pairs nothing.
CREATE TABLE device_pairings (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('evaluator', 'kiosk')),
    window_no   INTEGER,                 -- evaluator: the window whose tablet this is
    kiosk_id    TEXT,                    -- kiosk: the [[kiosks]] id
    name        TEXT    NOT NULL,        -- shown on /tech and in audit rows ("3号窗口评价器")
    code_hash   TEXT,                    -- sha256 of the 6-digit code; NULL once used or spent
    code_expires REAL,                   -- unix seconds
    wrong_tries INTEGER NOT NULL DEFAULT 0,
    token_hash  TEXT UNIQUE,             -- sha256 of the device token; NULL until paired
    created_at  TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    paired_at   TEXT,
    revoked_at  TEXT,
    last_seen   REAL                     -- unix seconds of its last request (updated at most once a minute)
);
CREATE INDEX device_pairings_code ON device_pairings (code_hash);

-- Every code guess, so a 6-digit code cannot be brute-forced (per address and for the whole hall).
CREATE TABLE pairing_attempts (
    id      INTEGER PRIMARY KEY,
    remote  TEXT NOT NULL,
    at      REAL NOT NULL,
    ok      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX pairing_attempts_at ON pairing_attempts (at);
