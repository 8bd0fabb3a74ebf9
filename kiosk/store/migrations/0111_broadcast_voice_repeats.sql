-- Hall broadcast: spoken repeats spread out (every N minutes) instead of one after another, and how far
-- they have got, so a restart carries on with the repeats still due rather than starting again.
ALTER TABLE broadcasts ADD COLUMN voice_every_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN voice_done INTEGER NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN voice_next_at TEXT;
