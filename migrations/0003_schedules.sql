-- Schedules, retention and deletion (SPEC §2, §5).

-- The schedule slot a scheduled backup was taken for, e.g.
-- 'daily@2026-01-31T02:00:00+09:00'; NULL for backups people asked for.
-- Unique, so two schedulers racing for one slot can never both record a backup.
ALTER TABLE backups ADD COLUMN schedule_slot TEXT;
CREATE UNIQUE INDEX backups_by_schedule_slot ON backups (schedule_slot)
    WHERE schedule_slot IS NOT NULL;

-- Set when a deletion starts. The files go next, then the record; a crash in
-- between leaves a marked record that reconciliation finishes deleting.
ALTER TABLE backups ADD COLUMN deleting_at TEXT;

-- When each schedule last fired, so that a slot missed while the service was
-- down can be caught up once at start-up.
CREATE TABLE schedule_runs (
    name          TEXT PRIMARY KEY,  -- daily, weekly, prune_daily, reconcile…
    last_slot     TEXT,              -- UTC time of the last slot fired
    last_fired_at TEXT,              -- when it was fired
    created_at    TEXT NOT NULL      -- the schedule is known since then
);

-- What reconciliation found: files without a record, records without a file.
CREATE TABLE reconcile_reports (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    checked_at TEXT NOT NULL,
    report     TEXT NOT NULL,        -- JSON
    created_at TEXT NOT NULL
);
