-- Tickets taken with an ID card (刷身份证取号). The number itself is never stored: `holder_hash` is an
-- HMAC-SHA256 of it under the hall's key (records_settings 'id_hash_key'), enough to enforce the
-- per-person daily limit and to match an appointment; `holder_name` is already masked (张*).
CREATE TABLE ticket_holders (
    ticket_id     INTEGER PRIMARY KEY REFERENCES tickets(id),
    service_date  TEXT    NOT NULL,
    category      TEXT    NOT NULL,
    holder_hash   TEXT    NOT NULL,
    holder_name   TEXT    NOT NULL,
    holder_age    INTEGER
);
CREATE INDEX ticket_holders_person ON ticket_holders (holder_hash, service_date, category);

-- An appointment booked with the applicant's ID number keeps only its keyed hash, so a card read at
-- the kiosk checks it in (the county relay carries name and phone as before, never the number).
ALTER TABLE appointments ADD COLUMN id_hash TEXT;
CREATE INDEX appointments_id_hash ON appointments (id_hash, service_date);
