-- A 差评 from a keypad without reason keys is stored as "原因待补" (reason_pending = 1) with the keypad's
-- placeholder reason, and offered for completion on the window tablet, the ticket's phone page and the
-- kiosk's 评价 screen; the manager counts the ones still pending.
ALTER TABLE ratings ADD COLUMN reason_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ratings ADD COLUMN reason_completed_at TEXT;
CREATE INDEX ratings_reason_pending ON ratings (reason_pending) WHERE reason_pending = 1;
