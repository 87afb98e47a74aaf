-- Integrity verifications of backups (SPEC §4): one row per verification, with
-- the result of each of the five checks as JSON:
--   [{"name": "file_exists"|"file_size"|"checksum"|"decompress"|"sqlite_integrity",
--     "status": "pass"|"fail"|"skipped", "detail": "..."}, ...]
-- A verification belongs to its backup: deleting the backup record deletes its history.

CREATE TABLE backup_integrity_checks (
    check_id          TEXT    PRIMARY KEY,      -- CHK-<ulid>
    backup_id         TEXT    NOT NULL REFERENCES backups (backup_id) ON DELETE CASCADE,
    status            TEXT    NOT NULL CHECK (status IN ('in_progress', 'pass', 'fail')),
    checks            TEXT    NOT NULL DEFAULT '[]',
    requested_by_id   INTEGER REFERENCES users (id),
    requested_by_name TEXT    NOT NULL,         -- username, or 'scheduler'
    started_at        TEXT    NOT NULL,
    checked_at        TEXT,                     -- when it finished
    duration_ms       INTEGER,
    job_id            TEXT,                     -- the queue job that runs it, if its own
    -- a runner holds the check while it works; a lease that is not renewed expires
    lease_expires_at  INTEGER,
    created_at        TEXT    NOT NULL
);
CREATE INDEX backup_integrity_checks_by_backup
    ON backup_integrity_checks (backup_id, started_at DESC);
-- At most one verification of a backup runs at a time.
CREATE UNIQUE INDEX backup_integrity_checks_one_running
    ON backup_integrity_checks (backup_id) WHERE status = 'in_progress';
