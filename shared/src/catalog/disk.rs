//! The disk check's state, and the space backups take per type.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::{Catalog, CatalogError, Result, time};
use crate::domain::BackupType;
use crate::domain::{DiskLevel, DiskState};

/// Bytes and count of successful backups of one type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TypeUsage {
    pub count: u64,
    pub bytes: u64,
}

impl Catalog {
    pub fn disk_state(&self) -> Result<DiskState> {
        read_disk_state(&*self.reader()?)
    }

    pub fn save_disk_state(&self, state: &DiskState, used_percent: f64) -> Result<()> {
        let conn = self.writer()?;
        let now = time::now_text();
        conn.execute(
            "INSERT INTO disk_state (id, level, automatic_paused, used_percent, last_notified_at, checked_at, created_at)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (id) DO UPDATE SET level = ?1, automatic_paused = ?2, used_percent = ?3,
                 last_notified_at = ?4, checked_at = ?5",
            params![
                state.level.as_str(),
                state.automatic_paused,
                used_percent,
                state.last_notified_at.map(time::format_utc),
                now
            ],
        )?;
        Ok(())
    }

    /// Whether the last disk check paused automatic backups (CRITICAL).
    pub fn automatic_backups_paused(&self) -> Result<bool> {
        Ok(self.disk_state()?.automatic_paused)
    }

    /// Successful backups per type: how many, and their compressed bytes.
    pub fn usage_by_type(&self) -> Result<BTreeMap<BackupType, TypeUsage>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT backup_type, COUNT(*), COALESCE(SUM(file_size), 0) FROM backups
             WHERE status = 'success' GROUP BY backup_type",
        )?;
        let mut usage: BTreeMap<BackupType, TypeUsage> = BackupType::ALL
            .into_iter()
            .map(|t| (t, TypeUsage::default()))
            .collect();
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (name, count, bytes) = row?;
            let t: BackupType = name
                .parse()
                .map_err(|e| CatalogError::Corrupt(format!("{e}")))?;
            usage.insert(
                t,
                TypeUsage {
                    count: count.max(0) as u64,
                    bytes: bytes.max(0) as u64,
                },
            );
        }
        Ok(usage)
    }
}

/// The last disk check's state; the default (OK) before the first check.
pub(super) fn read_disk_state(conn: &Connection) -> Result<DiskState> {
    let row: Option<(String, bool, Option<String>)> = conn
        .query_row(
            "SELECT level, automatic_paused, last_notified_at FROM disk_state WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((level, automatic_paused, notified)) = row else {
        return Ok(DiskState::default());
    };
    Ok(DiskState {
        level: DiskLevel::parse(&level)
            .ok_or_else(|| CatalogError::Corrupt(format!("disk level {level:?}")))?,
        automatic_paused,
        last_notified_at: notified.as_deref().map(time::parse_utc).transpose()?,
    })
}
