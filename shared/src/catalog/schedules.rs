//! Scheduled backups (one record per schedule slot) and the memory of when
//! each schedule last fired, for catching up missed slots at start-up.

use std::path::Path;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rusqlite::{ErrorCode, OptionalExtension, Row, params};

use super::{BackupRecord, Catalog, CatalogError, NewBackup, Result, time};
use crate::domain::BackupId;

/// The record of a scheduled backup, and whether this call created it.
#[derive(Debug, Clone)]
pub enum SlotBackup {
    Created(BackupRecord),
    /// Another scheduler (or an earlier run of this one) recorded it first.
    Existing(BackupRecord),
}

impl SlotBackup {
    pub fn record(&self) -> &BackupRecord {
        match self {
            SlotBackup::Created(r) | SlotBackup::Existing(r) => r,
        }
    }
}

/// When a schedule last fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRun {
    pub name: String,
    /// The last slot fired.
    pub last_slot: Option<DateTime<Utc>>,
    pub last_fired_at: Option<DateTime<Utc>>,
    /// When the catalog first heard of the schedule; nothing before can
    /// have been missed.
    pub known_since: DateTime<Utc>,
}

fn read_run(row: &Row<'_>) -> rusqlite::Result<Result<ScheduleRun>> {
    let (name, last_slot, last_fired_at, created_at): (
        String,
        Option<String>,
        Option<String>,
        String,
    ) = (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
    Ok((|| {
        Ok(ScheduleRun {
            name,
            last_slot: last_slot.as_deref().map(time::parse_utc).transpose()?,
            last_fired_at: last_fired_at.as_deref().map(time::parse_utc).transpose()?,
            known_since: time::parse_utc(&created_at)?,
        })
    })())
}

fn is_constraint_violation(e: &CatalogError) -> bool {
    matches!(e, CatalogError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
        if f.code == ErrorCode::ConstraintViolation)
}

impl Catalog {
    /// Records the backup of a schedule slot, unless the slot already has
    /// one. The unique `schedule_slot` settles a race between schedulers.
    pub fn create_scheduled_backup(
        &self,
        new: &NewBackup,
        slot: &str,
        tz: Tz,
        backup_root: &Path,
    ) -> Result<SlotBackup> {
        if let Some(existing) = self.backup_for_slot(slot)? {
            return Ok(SlotBackup::Existing(existing));
        }
        match self.insert_backup(new, tz, backup_root, Some(slot)) {
            Ok(record) => Ok(SlotBackup::Created(record)),
            Err(e) if is_constraint_violation(&e) => match self.backup_for_slot(slot)? {
                Some(existing) => Ok(SlotBackup::Existing(existing)),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// The backup recorded for a schedule slot.
    pub fn backup_for_slot(&self, slot: &str) -> Result<Option<BackupRecord>> {
        let conn = self.reader()?;
        let id: Option<String> = conn
            .query_row(
                "SELECT backup_id FROM backups WHERE schedule_slot = ?1",
                [slot],
                |r| r.get(0),
            )
            .optional()?;
        id.map(|id| {
            let id = BackupId::parse(&id).map_err(|e| CatalogError::Corrupt(e.to_string()))?;
            self.get_backup(&id)
        })
        .transpose()
    }

    /// Slots of schedule `name` whose backup was recorded but never got its
    /// job (the scheduler died between the two).
    pub fn unqueued_slots(&self, name: &str) -> Result<Vec<String>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT schedule_slot FROM backups
             WHERE substr(schedule_slot, 1, length(?1) + 1) = ?1 || '@'
               AND job_id IS NULL AND status = 'in_progress' AND deleting_at IS NULL
             ORDER BY schedule_slot",
        )?;
        let slots = stmt
            .query_map([name], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(slots)
    }

    /// When the schedule `name` last fired; the first call makes it known.
    pub fn schedule_run(&self, name: &str) -> Result<ScheduleRun> {
        let conn = self.writer()?;
        conn.execute(
            "INSERT OR IGNORE INTO schedule_runs (name, created_at) VALUES (?1, ?2)",
            (name, time::now_text()),
        )?;
        conn.query_row(
            "SELECT name, last_slot, last_fired_at, created_at FROM schedule_runs WHERE name = ?1",
            [name],
            read_run,
        )?
    }

    /// Every schedule the catalog knows, by name.
    pub fn schedule_runs(&self) -> Result<Vec<ScheduleRun>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT name, last_slot, last_fired_at, created_at FROM schedule_runs ORDER BY name",
        )?;
        stmt.query_map([], read_run)?.map(|r| r?).collect()
    }

    /// Remembers that `slot` of schedule `name` fired. Never moves back: a
    /// late scheduler recording an older slot leaves the newer one. Returns
    /// whether this call recorded it (false: recorded already).
    pub fn record_schedule_fired(&self, name: &str, slot: DateTime<Utc>) -> Result<bool> {
        let conn = self.writer()?;
        let now = time::now_text();
        let updated = conn.execute(
            "INSERT INTO schedule_runs (name, last_slot, last_fired_at, created_at)
             VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT (name) DO UPDATE SET last_slot = excluded.last_slot,
                 last_fired_at = excluded.last_fired_at
             WHERE last_slot IS NULL OR last_slot < excluded.last_slot",
            params![name, time::format_utc(slot), now],
        )?;
        Ok(updated == 1)
    }
}
