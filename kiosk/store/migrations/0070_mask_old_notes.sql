-- Free-text notes are masked when stored (issue 10 item 7), but rows written before that hold
-- typed ID and phone numbers in clear. Mask them in place with the same function the service uses
-- (hall_redact = hall.security.redact_text, registered on every connection). Only the county's
-- copy in the relay outbox keeps what the county needs; notes never went there.
UPDATE cases SET note = hall_redact(note) WHERE note IS NOT NULL AND note <> hall_redact(note);
UPDATE case_history SET note = hall_redact(note) WHERE note IS NOT NULL AND note <> hall_redact(note);
UPDATE village_records SET note = hall_redact(note) WHERE note IS NOT NULL AND note <> hall_redact(note);
UPDATE village_record_history SET note = hall_redact(note) WHERE note IS NOT NULL AND note <> hall_redact(note);
