-- Park (挂起) and coded pauses.
--
-- A parked ticket gets a state of its own, so it is in exactly one state: not waiting (no one
-- else can call it), not the window's current ticket (the window calls on), and it is kept
-- across a restart. SQLite cannot alter a CHECK constraint, and rebuilding `tickets` would have
-- to drop a table five others reference; the CHECK is only widened (every existing row stays
-- valid), which SQLite documents as safe through writable_schema ("Making Other Kinds Of Table
-- Schema Changes", lang_altertable.html). RESET makes this connection re-read the schema.
PRAGMA writable_schema = ON;
UPDATE sqlite_master SET sql = replace(sql, '''transferred'', ''cancelled'')', '''transferred'', ''cancelled'', ''parked'')')
 WHERE type = 'table' AND name = 'tickets' AND sql NOT LIKE '%''parked''%';
PRAGMA writable_schema = RESET;

-- While parked: since when (NULL otherwise); parked_seconds adds up every park of the ticket, so
-- service time counts only the time the clerk actually served (finished - serving - parked).
ALTER TABLE tickets ADD COLUMN parked_at TEXT;
ALTER TABLE tickets ADD COLUMN parked_seconds INTEGER NOT NULL DEFAULT 0;

-- Which coded reason a window's current pause has (windows.pause_reason keeps the words shown).
ALTER TABLE windows ADD COLUMN pause_code TEXT;

-- Every pause, for break-time figures per clerk, per reason, per day and month. ended_at NULL: still paused.
CREATE TABLE window_pauses (
    id          INTEGER PRIMARY KEY,
    window      INTEGER NOT NULL,
    clerk       TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    text        TEXT,
    started_at  TEXT    NOT NULL,
    ended_at    TEXT,
    ended_by    TEXT
);
CREATE INDEX window_pauses_started ON window_pauses (started_at);
CREATE INDEX window_pauses_open ON window_pauses (window, ended_at);
