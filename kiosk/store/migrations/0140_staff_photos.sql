-- Faces on the 公示栏 (issue 11 item 7): each clerk's photo as the manager uploaded it, already
-- re-encoded (JPEG, bounded size, no EXIF), and the hall's rules text the manager edits.
CREATE TABLE staff_photos (
    staff_id   TEXT PRIMARY KEY,
    jpeg       BLOB NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE TABLE hall_texts (
    key        TEXT PRIMARY KEY,
    text       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
