-- Hall broadcasts (大厅广播): a manager's message to the board, LED, voice and kiosk until it expires
-- or is withdrawn. Kept in SQLite so a restart brings an unexpired message back on every screen.
CREATE TABLE broadcasts (
    id           INTEGER PRIMARY KEY,
    message      TEXT NOT NULL,
    targets      TEXT NOT NULL,            -- JSON list: board, led, voice, kiosk
    voice_times  INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,            -- ISO-8601 with offset
    author       TEXT NOT NULL,
    ended_at     TEXT,                     -- withdrawn by hand or found expired
    ended_by     TEXT,                     -- staff id, or 'system' at expiry
    end_reason   TEXT CHECK (end_reason IN ('withdrawn', 'expired'))
);
CREATE INDEX broadcasts_open ON broadcasts (ended_at, expires_at);
