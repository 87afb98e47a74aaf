-- A hash chain over the audit trail: each record carries the hash of the one before it,
-- so an edited, removed or reordered record is detected by `nexus-backup audit verify`.
-- Records written before this migration have no hash; the chain starts after them.
ALTER TABLE audit_logs ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_logs ADD COLUMN hash TEXT;
CREATE INDEX audit_logs_by_action ON audit_logs (action, occurred_at DESC);
CREATE INDEX audit_logs_by_actor ON audit_logs (actor, occurred_at DESC);
