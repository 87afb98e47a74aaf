-- What the last disk check of the backup filesystem found and did (guide §7.3).
-- One row; kept across restarts so alerts are sent on a change of level, not at every start.
CREATE TABLE disk_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    level            TEXT    NOT NULL CHECK (level IN ('ok', 'warn', 'error', 'critical')),
    automatic_paused INTEGER NOT NULL DEFAULT 0,
    used_percent     REAL,
    last_notified_at TEXT,
    checked_at       TEXT,
    created_at       TEXT    NOT NULL
);
