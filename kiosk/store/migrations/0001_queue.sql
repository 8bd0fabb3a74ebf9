-- Queue: tickets, their transitions, windows, clerk sessions, audit.
CREATE TABLE tickets (
    id              INTEGER PRIMARY KEY,
    service_date    TEXT    NOT NULL,              -- local date, YYYY-MM-DD
    category        TEXT    NOT NULL,              -- current category prefix
    seq             INTEGER,                       -- per category per day; NULL for transfer copies
    number          TEXT    NOT NULL,              -- what the citizen holds, e.g. A001
    lane            TEXT    NOT NULL CHECK (lane IN ('normal', 'priority', 'appointment')),
    state           TEXT    NOT NULL CHECK (state IN ('waiting', 'called', 'serving', 'done',
                                                      'no_show', 'transferred', 'cancelled')),
    issued_at       TEXT    NOT NULL,              -- ISO-8601 with offset
    queue_key       INTEGER NOT NULL,              -- FIFO order within a lane (µs since epoch)
    slot_start      TEXT,                          -- appointment slot, when lane = appointment
    window          INTEGER,
    clerk           TEXT,
    call_count      INTEGER NOT NULL DEFAULT 0,
    requeue_count   INTEGER NOT NULL DEFAULT 0,
    called_at       TEXT,
    serving_at      TEXT,
    finished_at     TEXT,
    transferred_from INTEGER REFERENCES tickets(id),
    appointment_id  INTEGER,
    print_status    TEXT    NOT NULL DEFAULT 'pending',
    UNIQUE (service_date, category, seq)
);
CREATE INDEX tickets_waiting ON tickets (service_date, state, category, lane, queue_key);
CREATE INDEX tickets_window ON tickets (window, state);

CREATE TABLE ticket_events (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    at         TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    window     INTEGER,
    clerk      TEXT,
    detail     TEXT
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id);

CREATE TABLE windows (
    number       INTEGER PRIMARY KEY,
    paused       INTEGER NOT NULL DEFAULT 0,
    pause_reason TEXT,
    paused_at    TEXT
);

CREATE TABLE window_sessions (
    id        INTEGER PRIMARY KEY,
    window    INTEGER NOT NULL,
    staff_id  TEXT    NOT NULL,
    post      TEXT    NOT NULL CHECK (post IN ('A', 'B')),
    login_at  TEXT    NOT NULL,
    logout_at TEXT,
    logout_reason TEXT
);
CREATE INDEX window_sessions_open ON window_sessions (window, logout_at);

CREATE TABLE auth_sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id   TEXT NOT NULL,
    role       TEXT NOT NULL,
    window     INTEGER,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    detail  TEXT,
    remote  TEXT
);
CREATE INDEX audit_at ON audit (at);
