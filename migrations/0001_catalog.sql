-- The catalog: users, backup records and the audit trail.
-- It lives in the service's own SQLite file, never inside the database it backs up,
-- so restoring itsm_nexus.db can never roll back the record of the backups.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at    TEXT    NOT NULL
);

CREATE TABLE backups (
    backup_id        TEXT    PRIMARY KEY,
    backup_type      TEXT    NOT NULL
                     CHECK (backup_type IN ('daily', 'weekly', 'monthly', 'manual', 'before_restore')),
    status           TEXT    NOT NULL CHECK (status IN ('in_progress', 'success', 'failure')),
    phase            TEXT    NOT NULL,
    progress_percent INTEGER NOT NULL DEFAULT 0 CHECK (progress_percent BETWEEN 0 AND 100),
    description      TEXT,
    -- relative to the backup root: <type>/<file name>; derived from the id
    file_path        TEXT    NOT NULL UNIQUE,
    file_size        INTEGER,
    original_size    INTEGER,
    checksum         TEXT,      -- sha256:<hex> of the .db.gz
    raw_checksum     TEXT,      -- sha256:<hex> of the uncompressed snapshot
    created_by_id    INTEGER REFERENCES users (id),
    created_by_name  TEXT    NOT NULL,
    started_at       TEXT    NOT NULL,
    completed_at     TEXT,
    error_code       TEXT,
    error_message    TEXT,
    job_id           TEXT,      -- the queue job that runs it
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- who is running it now; a lease that is not renewed expires
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    created_at       TEXT    NOT NULL
);
CREATE INDEX backups_by_start ON backups (started_at DESC);
CREATE INDEX backups_by_type_start ON backups (backup_type, started_at DESC);
CREATE INDEX backups_by_status ON backups (status);

CREATE TABLE audit_logs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at TEXT    NOT NULL,
    actor       TEXT    NOT NULL,   -- username, or 'scheduler' / 'worker' / 'system'
    actor_id    INTEGER,
    source      TEXT    NOT NULL CHECK (source IN ('api', 'cli', 'worker', 'scheduler', 'system')),
    remote_addr TEXT,
    action      TEXT    NOT NULL,   -- e.g. backup.create, auth.login
    target      TEXT,               -- e.g. a backup id
    result      TEXT    NOT NULL CHECK (result IN ('success', 'failure', 'denied', 'accepted')),
    detail      TEXT,
    created_at  TEXT    NOT NULL
);
CREATE INDEX audit_logs_by_time ON audit_logs (occurred_at DESC);

CREATE TRIGGER audit_logs_are_append_only_update BEFORE UPDATE ON audit_logs
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;
CREATE TRIGGER audit_logs_are_append_only_delete BEFORE DELETE ON audit_logs
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;
