-- Restores (SPEC §6) and the catalog-level lock that keeps backups of the ITSM
-- database away from it while a restore rewrites it.

-- One row per restore asked for. backup_id and safety_backup_id are not foreign
-- keys: the history of a restore outlives the deletion of either backup.
CREATE TABLE restores (
    restore_id        TEXT    PRIMARY KEY,      -- RST-<ulid>
    backup_id         TEXT    NOT NULL,         -- the backup restored
    status            TEXT    NOT NULL CHECK (status IN ('in_progress', 'success', 'failure')),
    -- queued, verify, safety_backup, apply, post_check, rollback, done
    phase             TEXT    NOT NULL,
    target            TEXT    NOT NULL,         -- the database written into
    safety_backup_id  TEXT,                     -- the before_restore backup taken first
    requested_by_id   INTEGER REFERENCES users (id),
    requested_by_name TEXT    NOT NULL,
    started_at        TEXT    NOT NULL,
    completed_at      TEXT,
    error_code        TEXT,
    error_message     TEXT,
    job_id            TEXT,                     -- the queue job that runs it
    attempts          INTEGER NOT NULL DEFAULT 0,
    -- who is running it now; a lease that is not renewed expires
    lease_owner       TEXT,
    lease_expires_at  INTEGER,
    created_at        TEXT    NOT NULL
);
CREATE INDEX restores_by_start ON restores (started_at DESC);

-- Named locks with an owner and an expiry (unix milliseconds), renewed while
-- held, so that a holder that dies lets go by itself.
-- 'live_database': held by a restore; backups wait for it before their snapshot,
-- except the one backup named in let_through (the restore's safety backup).
CREATE TABLE locks (
    name        TEXT    PRIMARY KEY,
    owner       TEXT    NOT NULL,
    let_through TEXT,
    expires_at  INTEGER NOT NULL,
    acquired_at TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
);
