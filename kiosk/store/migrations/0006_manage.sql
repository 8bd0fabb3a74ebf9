-- Hall management: notices for the kiosk (政策宣传) and the holiday duty roster (节假日轮流值班).
CREATE TABLE notices (
    id           INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('policy', 'hall')),
    published_at TEXT NOT NULL,
    expires_on   TEXT,                 -- last local date shown; NULL = until withdrawn
    withdrawn_at TEXT,
    author       TEXT NOT NULL
);

CREATE TABLE duty_roster (
    id        INTEGER PRIMARY KEY,
    day       TEXT NOT NULL,           -- local date
    staff_id  TEXT NOT NULL,
    note      TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (day, staff_id)
);
CREATE INDEX duty_roster_day ON duty_roster (day);
