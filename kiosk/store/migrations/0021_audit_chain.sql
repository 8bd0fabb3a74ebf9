-- Audit trail for 等保2.0 (issue 10, item 6): who (actor, role), what (action, target, detail),
-- when (hall time and UTC), from where (client address, device); append-only and hash-chained.
-- Every row is sealed by the trigger below, whichever code inserted it: the functions
-- hall_audit_context / hall_redact / hall_audit_hash are registered on each connection
-- by hall.store.db (see hall.store.audit_chain).
ALTER TABLE audit RENAME TO audit_legacy;
DROP INDEX IF EXISTS audit_at;
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,          -- hall time, ISO-8601 with offset
    at_utc    TEXT,                   -- the same instant in UTC (filled by the seal)
    actor     TEXT NOT NULL,
    role      TEXT,
    action    TEXT NOT NULL,
    target    TEXT,
    detail    TEXT,
    remote    TEXT,                   -- client address
    device    TEXT,                   -- paired device, or the browser/program that sent the request
    prev_hash TEXT,
    hash      TEXT
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_actor ON audit (actor, at_utc);
CREATE INDEX audit_action ON audit (action, at_utc);

-- Where the chain starts after old rows were pruned by the retention setting.
CREATE TABLE audit_anchor (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    last_id       INTEGER NOT NULL,   -- the newest pruned row
    last_hash     TEXT    NOT NULL,   -- its hash: the first kept row's prev_hash
    pruned_before TEXT    NOT NULL,   -- UTC cut-off of the last pruning
    pruned_at     TEXT    NOT NULL,
    rows_pruned   INTEGER NOT NULL
);
-- Holds one row only inside prune_audit's own transaction: deleting audit rows needs it.
CREATE TABLE audit_prune_gate (open INTEGER NOT NULL);

CREATE TRIGGER audit_seal AFTER INSERT ON audit
BEGIN
    UPDATE audit SET
        at_utc    = strftime('%Y-%m-%dT%H:%M:%SZ', NEW.at),
        role      = COALESCE(NEW.role, hall_audit_context('role'), 'system'),
        remote    = COALESCE(NEW.remote, hall_audit_context('remote')),
        device    = COALESCE(NEW.device, hall_audit_context('device')),
        target    = hall_redact(NEW.target),
        detail    = hall_redact(NEW.detail),
        prev_hash = COALESCE((SELECT hash FROM audit WHERE id < NEW.id ORDER BY id DESC LIMIT 1),
                             (SELECT last_hash FROM audit_anchor WHERE id = 1), '')
    WHERE id = NEW.id;
    UPDATE audit SET hash = hall_audit_hash(id, at, at_utc, actor, role, action, target, detail, remote,
                                            device, prev_hash)
    WHERE id = NEW.id;
END;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit WHEN OLD.hash IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only / 审计记录不可修改');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit WHEN NOT EXISTS (SELECT 1 FROM audit_prune_gate)
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only / 审计记录不可删除（仅按保留期限清理）');
END;

-- the rows written before the chain existed, sealed in their order
INSERT INTO audit (id, at, actor, role, action, target, detail, remote)
    SELECT id, at, actor, 'legacy', action, target, detail, remote FROM audit_legacy ORDER BY id;
DROP TABLE audit_legacy;
