-- Which kiosk terminal ([[kiosks]] id) issued a ticket: its ticket and reprints come out of that
-- kiosk's printer. NULL: issued without a kiosk (the plain /kiosk page, API), the default printer.
ALTER TABLE tickets ADD COLUMN terminal TEXT;
