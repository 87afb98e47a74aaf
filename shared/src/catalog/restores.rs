//! Restore records (SPEC §6): creation, a lease for the runner, phase and
//! outcome. The named locks that keep backups of the live database waiting
//! while a restore rewrites it are in [`locks`].

use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rusqlite::{Row, params};

use super::leases::now_millis;
use super::{AuditEntry, Catalog, OptionalRow, Result, corrupt, time};
use crate::domain::{CreatedBy, ErrorInfo, RestoreId};

#[cfg(test)]
mod tests;

use crate::domain::{BackupId, BackupStatus};

/// The steps of a restore, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(rename_all = "snake_case")
)]
pub enum RestorePhase {
    Queued,
    Verify,
    SafetyBackup,
    Apply,
    PostCheck,
    Rollback,
    Done,
}

impl RestorePhase {
    const ALL: [RestorePhase; 7] = [
        RestorePhase::Queued,
        RestorePhase::Verify,
        RestorePhase::SafetyBackup,
        RestorePhase::Apply,
        RestorePhase::PostCheck,
        RestorePhase::Rollback,
        RestorePhase::Done,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RestorePhase::Queued => "queued",
            RestorePhase::Verify => "verify",
            RestorePhase::SafetyBackup => "safety_backup",
            RestorePhase::Apply => "apply",
            RestorePhase::PostCheck => "post_check",
            RestorePhase::Rollback => "rollback",
            RestorePhase::Done => "done",
        }
    }
}

impl FromStr for RestorePhase {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RestorePhase::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown restore phase {s:?}"))
    }
}

#[derive(Debug, Clone)]
pub struct RestoreRecord {
    pub id: RestoreId,
    pub backup_id: BackupId,
    pub status: BackupStatus,
    pub phase: RestorePhase,
    /// The database written into.
    pub target: PathBuf,
    pub safety_backup_id: Option<BackupId>,
    pub requested_by: CreatedBy,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub error: Option<ErrorInfo>,
    pub job_id: Option<String>,
    /// Runs started, the current one included.
    pub attempts: u32,
}

pub struct NewRestore {
    pub backup_id: BackupId,
    pub target: PathBuf,
    pub requested_by: CreatedBy,
}

const COLUMNS: &str = "restore_id, backup_id, status, phase, target, safety_backup_id,
    requested_by_id, requested_by_name, started_at, completed_at, error_code, error_message,
    job_id, attempts";

fn read_record(row: &Row<'_>) -> rusqlite::Result<Result<RestoreRecord>> {
    let id: String = row.get(0)?;
    let backup_id: String = row.get(1)?;
    let status: String = row.get(2)?;
    let phase: String = row.get(3)?;
    let target: String = row.get(4)?;
    let safety: Option<String> = row.get(5)?;
    let requested_by = CreatedBy {
        id: row.get(6)?,
        username: row.get(7)?,
    };
    let started_at: String = row.get(8)?;
    let completed_at: Option<String> = row.get(9)?;
    let error_code: Option<String> = row.get(10)?;
    let error_message: Option<String> = row.get(11)?;
    let job_id: Option<String> = row.get(12)?;
    let attempts: i64 = row.get(13)?;
    let backup = |s: &str| BackupId::parse(s).map_err(|e| corrupt("backup id", e));
    Ok((|| {
        Ok(RestoreRecord {
            id: RestoreId::parse(&id).map_err(|e| corrupt("restore id", e))?,
            backup_id: backup(&backup_id)?,
            status: status.parse().map_err(|e| corrupt("status", e))?,
            phase: phase.parse().map_err(|e| corrupt("phase", e))?,
            target: PathBuf::from(target),
            safety_backup_id: safety.as_deref().map(backup).transpose()?,
            requested_by,
            started_at: time::parse_utc(&started_at)?,
            completed_at: completed_at.as_deref().map(time::parse_utc).transpose()?,
            error: error_code.map(|code| ErrorInfo {
                code,
                message: error_message.unwrap_or_default(),
                details: None,
            }),
            job_id,
            attempts: attempts.max(0) as u32,
        })
    })())
}

pub(super) fn get(conn: &rusqlite::Connection, id: &RestoreId) -> Result<RestoreRecord> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM restores WHERE restore_id = ?1"),
        [id.as_str()],
        read_record,
    )
    .found()?
}

impl Catalog {
    /// Records a new restore as `in_progress`, phase `queued`.
    pub fn create_restore(&self, new: &NewRestore) -> Result<RestoreRecord> {
        let id = RestoreId::generate();
        let now = time::now_text();
        self.writer()?.execute(
            "INSERT INTO restores (restore_id, backup_id, status, phase, target,
                 requested_by_id, requested_by_name, started_at, created_at)
             VALUES (?1, ?2, 'in_progress', 'queued', ?3, ?4, ?5, ?6, ?6)",
            params![
                id.as_str(),
                new.backup_id.to_string(),
                new.target.to_string_lossy(),
                new.requested_by.id,
                new.requested_by.username,
                now,
            ],
        )?;
        self.get_restore(&id)
    }

    pub fn get_restore(&self, id: &RestoreId) -> Result<RestoreRecord> {
        get(&*self.reader()?, id)
    }

    /// Newest first, with the total.
    pub fn list_restores(&self, limit: u32, offset: u32) -> Result<(Vec<RestoreRecord>, u64)> {
        let conn = self.reader()?;
        let total: i64 = conn.query_row("SELECT COUNT(*) FROM restores", [], |r| r.get(0))?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM restores ORDER BY started_at DESC, restore_id DESC
             LIMIT ?1 OFFSET ?2"
        ))?;
        let records = stmt
            .query_map([limit, offset], read_record)?
            .map(|r| r?)
            .collect::<Result<Vec<_>>>()?;
        Ok((records, total.max(0) as u64))
    }

    /// Restores still `in_progress` that no runner holds a live lease on
    /// (for the sweeper).
    pub fn unclaimed_restores(&self) -> Result<Vec<RestoreRecord>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM restores
             WHERE status = 'in_progress' AND (lease_owner IS NULL OR lease_expires_at < ?1)
             ORDER BY started_at"
        ))?;
        stmt.query_map([now_millis()], read_record)?
            .map(|r| r?)
            .collect()
    }

    pub fn set_restore_job_id(&self, id: &RestoreId, job_id: &str) -> Result<()> {
        self.writer()?.execute(
            "UPDATE restores SET job_id = ?2 WHERE restore_id = ?1",
            (id.as_str(), job_id),
        )?;
        Ok(())
    }

    /// Records the phase the restore enters.
    pub fn set_restore_phase(
        &self,
        id: &RestoreId,
        owner: &str,
        phase: RestorePhase,
    ) -> Result<bool> {
        let updated = self.writer()?.execute(
            "UPDATE restores SET phase = ?3
             WHERE restore_id = ?1 AND lease_owner = ?2 AND status = 'in_progress'",
            params![id.as_str(), owner, phase.as_str()],
        )?;
        Ok(updated == 1)
    }

    /// Records the `before_restore` backup taken for this restore.
    pub fn set_restore_safety_backup(
        &self,
        id: &RestoreId,
        owner: &str,
        safety: &BackupId,
    ) -> Result<bool> {
        let updated = self.writer()?.execute(
            "UPDATE restores SET safety_backup_id = ?3
             WHERE restore_id = ?1 AND lease_owner = ?2 AND status = 'in_progress'",
            params![id.as_str(), owner, safety.to_string()],
        )?;
        Ok(updated == 1)
    }

    /// Records the outcome: success when `error` is None. `owner` None
    /// finishes a restore nobody holds a live lease on (its job is gone).
    pub fn finish_restore(
        &self,
        id: &RestoreId,
        owner: Option<&str>,
        error: Option<&ErrorInfo>,
    ) -> Result<bool> {
        self.finish_restore_audited(id, owner, error, None)
    }

    /// Records the outcome and, in the same transaction, its audit entry:
    /// a client that sees the status sees the entry.
    pub fn finish_restore_audited(
        &self,
        id: &RestoreId,
        owner: Option<&str>,
        error: Option<&ErrorInfo>,
        audit: Option<&AuditEntry>,
    ) -> Result<bool> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let updated = tx.execute(
            "UPDATE restores SET status = ?3, phase = CASE WHEN ?3 = 'success' THEN 'done' ELSE phase END,
                 completed_at = ?4, error_code = ?5, error_message = ?6,
                 lease_owner = NULL, lease_expires_at = NULL
             WHERE restore_id = ?1 AND status = 'in_progress'
               AND (lease_owner IS ?2 OR lease_owner IS NULL OR lease_expires_at < ?7)",
            params![
                id.as_str(),
                owner,
                if error.is_none() { "success" } else { "failure" },
                time::now_text(),
                error.map(|e| &e.code),
                error.map(|e| &e.message),
                now_millis(),
            ],
        )?;
        if updated == 1
            && let Some(entry) = audit
        {
            super::audit::append_in(&tx, entry)?;
        }
        tx.commit()?;
        Ok(updated == 1)
    }
}
