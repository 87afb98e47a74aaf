//! Scheduled backups (one record per schedule slot) and the memory of when
//! each schedule last fired, for catching up missed slots at start-up.

use std::path::Path;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rusqlite::{ErrorCode, OptionalExtension, params};

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
        let conn = self.connect()?;
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

    /// When the schedule `name` last fired; the first call makes it known.
    pub fn schedule_run(&self, name: &str) -> Result<ScheduleRun> {
        let conn = self.connect()?;
        conn.execute(
            "INSERT OR IGNORE INTO schedule_runs (name, created_at) VALUES (?1, ?2)",
            (name, time::now_text()),
        )?;
        let (last_slot, last_fired_at, created_at): (Option<String>, Option<String>, String) =
            conn.query_row(
                "SELECT last_slot, last_fired_at, created_at FROM schedule_runs WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
        Ok(ScheduleRun {
            name: name.to_owned(),
            last_slot: last_slot.as_deref().map(time::parse_utc).transpose()?,
            last_fired_at: last_fired_at.as_deref().map(time::parse_utc).transpose()?,
            known_since: time::parse_utc(&created_at)?,
        })
    }

    /// Every schedule that has been known, by name.
    pub fn schedule_runs(&self) -> Result<Vec<ScheduleRun>> {
        let names: Vec<String> = {
            let conn = self.connect()?;
            let mut stmt = conn.prepare("SELECT name FROM schedule_runs ORDER BY name")?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        names.iter().map(|n| self.schedule_run(n)).collect()
    }

    /// Remembers that `slot` of schedule `name` fired. Never moves back: a
    /// late scheduler recording an older slot leaves the newer one.
    pub fn record_schedule_fired(&self, name: &str, slot: DateTime<Utc>) -> Result<()> {
        let conn = self.connect()?;
        let now = time::now_text();
        conn.execute(
            "INSERT INTO schedule_runs (name, last_slot, last_fired_at, created_at)
             VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT (name) DO UPDATE SET last_slot = excluded.last_slot,
                 last_fired_at = excluded.last_fired_at
             WHERE last_slot IS NULL OR last_slot < excluded.last_slot",
            params![name, time::format_utc(slot), now],
        )?;
        Ok(())
    }
}
