//! Backup records: creation with a unique id, progress, leases, outcome.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};

use super::audit::append_in;
use super::leases::now_millis;
use super::{AuditEntry, Catalog, CatalogError, OptionalRow, Result, corrupt, time};
use crate::domain::{BackupId, BackupStatus, BackupType, Checksum, CreatedBy, ErrorInfo, Phase};
use crate::engine::reading::Expected;

#[derive(Debug, Clone)]
pub struct BackupRecord {
    pub id: BackupId,
    pub status: BackupStatus,
    pub phase: Phase,
    pub progress_percent: u8,
    pub description: Option<String>,
    /// Relative to the backup root.
    pub file_path: PathBuf,
    pub file_size: Option<u64>,
    pub original_size: Option<u64>,
    pub checksum: Option<Checksum>,
    pub raw_checksum: Option<Checksum>,
    pub created_by: CreatedBy,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub error: Option<ErrorInfo>,
    pub job_id: Option<String>,
    pub attempts: u32,
}

impl BackupRecord {
    /// What the record says the backup file holds; `None` until the
    /// backup has succeeded (no checksum yet).
    pub fn expected(&self) -> Option<Expected> {
        Some(Expected {
            file_size: self.file_size,
            checksum: self.checksum.clone()?,
            original_size: self.original_size,
            raw_checksum: self.raw_checksum.clone(),
        })
    }
}

pub struct NewBackup {
    pub backup_type: BackupType,
    pub description: Option<String>,
    pub created_by: CreatedBy,
    pub started_at: DateTime<Utc>,
}

/// What a finished backup job records.
#[derive(Debug, Clone)]
pub struct Completed {
    pub file_size: u64,
    pub original_size: u64,
    pub checksum: Checksum,
    pub raw_checksum: Checksum,
}

#[derive(Debug, Default, Clone)]
pub struct BackupFilter {
    pub backup_type: Option<BackupType>,
    pub status: Option<BackupStatus>,
    pub limit: u32,
    pub offset: u32,
}

const COLUMNS: &str = "backup_id, status, phase, progress_percent, description, file_path,
    file_size, original_size, checksum, raw_checksum, created_by_id, created_by_name,
    started_at, completed_at, error_code, error_message, job_id, attempts, error_details";

fn read_record(row: &Row<'_>) -> rusqlite::Result<Result<BackupRecord>> {
    let id: String = row.get(0)?;
    let status: String = row.get(1)?;
    let phase: String = row.get(2)?;
    let started_at: String = row.get(12)?;
    let completed_at: Option<String> = row.get(13)?;
    let error_code: Option<String> = row.get(14)?;
    let error_message: Option<String> = row.get(15)?;
    let error_details: Option<String> = row.get(18)?;
    let file_path: String = row.get(5)?;
    let parts = (
        row.get::<_, i64>(3)?,
        row.get::<_, Option<String>>(4)?,
        row.get::<_, Option<i64>>(6)?,
        row.get::<_, Option<i64>>(7)?,
        row.get::<_, Option<String>>(8)?,
        row.get::<_, Option<String>>(9)?,
        row.get::<_, Option<i64>>(10)?,
        row.get::<_, String>(11)?,
        row.get::<_, Option<String>>(16)?,
        row.get::<_, i64>(17)?,
    );
    Ok((|| {
        let (
            percent,
            description,
            file_size,
            original_size,
            checksum,
            raw_checksum,
            by_id,
            by_name,
            job_id,
            attempts,
        ) = parts;
        Ok(BackupRecord {
            id: BackupId::parse(&id).map_err(|e| corrupt("backup id", e))?,
            status: status.parse().map_err(|e| corrupt("status", e))?,
            phase: phase.parse().map_err(|e| corrupt("phase", e))?,
            progress_percent: percent.clamp(0, 100) as u8,
            description,
            file_path: PathBuf::from(file_path),
            file_size: file_size.map(|n| n as u64),
            original_size: original_size.map(|n| n as u64),
            checksum: parse_checksum(checksum)?,
            raw_checksum: parse_checksum(raw_checksum)?,
            created_by: CreatedBy {
                id: by_id,
                username: by_name,
            },
            started_at: time::parse_utc(&started_at)?,
            completed_at: completed_at.as_deref().map(time::parse_utc).transpose()?,
            error: error_code
                .map(|code| -> Result<ErrorInfo> {
                    Ok(ErrorInfo {
                        code,
                        message: error_message.unwrap_or_default(),
                        details: error_details
                            .as_deref()
                            .map(serde_json::from_str)
                            .transpose()
                            .map_err(|e| corrupt("error details", e))?,
                    })
                })
                .transpose()?,
            job_id,
            attempts: attempts.max(0) as u32,
        })
    })())
}

impl Catalog {
    /// Records a new backup as `in_progress`, choosing its id: the start
    /// time in `tz`, with `-2`, `-3`… when that second is taken by a record
    /// or by a file already under `backup_root`.
    pub fn create_backup(
        &self,
        new: &NewBackup,
        tz: Tz,
        backup_root: &Path,
    ) -> Result<BackupRecord> {
        self.insert_backup(new, tz, backup_root, None)
    }

    /// [`Catalog::create_backup`], recording the schedule slot it is for
    /// (unique: a second record for the same slot is a constraint error).
    pub(super) fn insert_backup(
        &self,
        new: &NewBackup,
        tz: Tz,
        backup_root: &Path,
        schedule_slot: Option<&str>,
    ) -> Result<BackupRecord> {
        let local = new.started_at.with_timezone(&tz).naive_local();
        let first = BackupId::new(new.backup_type, local, 1);
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // After the highest sequence recorded in that second (one index
        // range, however many came before), then past any file without a
        // record.
        let base = first.to_string();
        // Sequences have no leading zero, so the longest id, then the
        // greatest, has the highest.
        let highest = tx
            .prepare_cached(
                "SELECT backup_id FROM backups
                 WHERE backup_id = ?1 OR (backup_id > ?1 || '-' AND backup_id < ?1 || '.')
                 ORDER BY length(backup_id) DESC, backup_id DESC LIMIT 1",
            )?
            .query_row([&base], |r| r.get::<_, String>(0))
            .optional()?
            .and_then(|id| BackupId::parse(&id).ok());
        let too_many =
            || CatalogError::Conflict("too many backups of one type in one second".into());
        let mut id = match highest {
            None => first,
            Some(last) => last.next_in_second().ok_or_else(too_many)?,
        };
        while backup_root.join(id.relative_path()).exists() {
            id = id.next_in_second().ok_or_else(too_many)?;
        }
        let now = time::now_text();
        tx.execute(
            "INSERT INTO backups (backup_id, backup_type, status, phase, progress_percent,
                 description, file_path, created_by_id, created_by_name, started_at, created_at,
                 schedule_slot)
             VALUES (?1, ?2, 'in_progress', 'queued', 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id.to_string(),
                new.backup_type.as_str(),
                new.description,
                id.relative_path().to_string_lossy(),
                new.created_by.id,
                new.created_by.username,
                time::format_utc(new.started_at),
                now,
                schedule_slot,
            ],
        )?;
        tx.commit()?;
        self.get_backup(&id)
    }

    pub fn get_backup(&self, id: &BackupId) -> Result<BackupRecord> {
        let conn = self.reader()?;
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM backups WHERE backup_id = ?1"),
            [id.to_string()],
            read_record,
        )
        .found()?
    }

    /// Newest first, with the total matching the filter.
    pub fn list_backups(&self, filter: &BackupFilter) -> Result<(Vec<BackupRecord>, u64)> {
        let conn = self.reader()?;
        // Only the conditions asked for: SQLite then counts and pages
        // through an index instead of reading every row.
        let mut conditions = Vec::new();
        let mut values: Vec<&str> = Vec::new();
        if let Some(t) = filter.backup_type {
            values.push(t.as_str());
            conditions.push(format!("backup_type = ?{}", values.len()));
        }
        if let Some(s) = filter.status {
            values.push(s.as_str());
            conditions.push(format!("status = ?{}", values.len()));
        }
        let where_clause = match conditions.is_empty() {
            true => String::new(),
            false => format!("WHERE {}", conditions.join(" AND ")),
        };
        let total: i64 = conn
            .prepare_cached(&format!("SELECT COUNT(*) FROM backups {where_clause}"))?
            .query_row(rusqlite::params_from_iter(&values), |r| r.get(0))?;
        let (limit, offset) = (values.len() + 1, values.len() + 2);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM backups {where_clause}
             ORDER BY started_at DESC, backup_id DESC LIMIT ?{limit} OFFSET ?{offset}"
        ))?;
        let mut params: Vec<&dyn rusqlite::ToSql> =
            values.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
        params.extend([&filter.limit as &dyn rusqlite::ToSql, &filter.offset]);
        let records = stmt
            .query_map(params.as_slice(), read_record)?
            .map(|r| r?)
            .collect::<Result<Vec<_>>>()?;
        Ok((records, total.max(0) as u64))
    }

    /// Records still `in_progress` that no runner holds a live lease on:
    /// queued, or left behind by a runner that died (for the sweeper).
    pub fn unclaimed_in_progress(&self) -> Result<Vec<BackupRecord>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM backups
             WHERE status = 'in_progress' AND (lease_owner IS NULL OR lease_expires_at < ?1)
             ORDER BY started_at"
        ))?;
        stmt.query_map([now_millis()], read_record)?
            .map(|r| r?)
            .collect()
    }

    pub fn set_job_id(&self, id: &BackupId, job_id: &str) -> Result<()> {
        let conn = self.writer()?;
        conn.execute(
            "UPDATE backups SET job_id = ?2 WHERE backup_id = ?1",
            (id.to_string(), job_id),
        )?;
        Ok(())
    }

    /// Records progress and extends the lease. Returns false when the
    /// caller no longer holds the lease (it expired and another took it).
    pub fn report_progress(
        &self,
        id: &BackupId,
        owner: &str,
        phase: Phase,
        percent: u8,
        ttl: Duration,
    ) -> Result<bool> {
        let conn = self.writer()?;
        let updated = conn.execute(
            "UPDATE backups SET phase = ?3, progress_percent = MAX(progress_percent, ?4),
                 lease_expires_at = ?5
             WHERE backup_id = ?1 AND lease_owner = ?2 AND status = 'in_progress'",
            params![
                id.to_string(),
                owner,
                phase.as_str(),
                percent.min(100),
                now_millis() + ttl.as_millis() as i64
            ],
        )?;
        Ok(updated == 1)
    }

    /// Records success. Only the lease holder may finish a backup.
    pub fn mark_success(&self, id: &BackupId, owner: &str, done: &Completed) -> Result<bool> {
        self.mark_success_audited(id, owner, done, None)
    }

    /// Records success and, in the same transaction, its audit entry: a
    /// client that sees the status sees the entry.
    pub fn mark_success_audited(
        &self,
        id: &BackupId,
        owner: &str,
        done: &Completed,
        audit: Option<&AuditEntry>,
    ) -> Result<bool> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let updated = tx.execute(
            "UPDATE backups SET status = 'success', phase = 'done', progress_percent = 100,
                 file_size = ?3, original_size = ?4, checksum = ?5, raw_checksum = ?6,
                 completed_at = ?7, error_code = NULL, error_message = NULL,
                 error_details = NULL, lease_owner = NULL, lease_expires_at = NULL
             WHERE backup_id = ?1 AND lease_owner = ?2 AND status = 'in_progress'",
            params![
                id.to_string(),
                owner,
                done.file_size as i64,
                done.original_size as i64,
                done.checksum.as_str(),
                done.raw_checksum.as_str(),
                time::now_text()
            ],
        )?;
        if updated == 1
            && let Some(entry) = audit
        {
            append_in(&tx, entry)?;
        }
        tx.commit()?;
        Ok(updated == 1)
    }

    /// Records failure of a backup still in progress. `owner` None is the
    /// sweeper giving up on a backup whose job is gone; it only succeeds
    /// when no live lease is held.
    pub fn mark_failure(
        &self,
        id: &BackupId,
        owner: Option<&str>,
        error: &ErrorInfo,
    ) -> Result<bool> {
        self.mark_failure_audited(id, owner, error, None)
    }

    /// Records the failure and, in the same transaction, its audit entry.
    pub fn mark_failure_audited(
        &self,
        id: &BackupId,
        owner: Option<&str>,
        error: &ErrorInfo,
        audit: Option<&AuditEntry>,
    ) -> Result<bool> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let updated = tx.execute(
            "UPDATE backups SET status = 'failure', completed_at = ?3,
                 error_code = ?4, error_message = ?5, error_details = ?7,
                 lease_owner = NULL, lease_expires_at = NULL
             WHERE backup_id = ?1 AND status = 'in_progress'
               AND (lease_owner IS ?2 OR lease_owner IS NULL OR lease_expires_at < ?6)",
            params![
                id.to_string(),
                owner,
                time::now_text(),
                error.code,
                error.message,
                now_millis(),
                error.details.as_ref().map(|d| d.to_string())
            ],
        )?;
        if updated == 1
            && let Some(entry) = audit
        {
            append_in(&tx, entry)?;
        }
        tx.commit()?;
        Ok(updated == 1)
    }

    /// Whether a record exists for this id (for reconciliation).
    pub fn backup_exists(&self, id: &BackupId) -> Result<bool> {
        let conn = self.reader()?;
        Ok(conn
            .query_row(
                "SELECT 1 FROM backups WHERE backup_id = ?1",
                [id.to_string()],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}

/// A checksum column, parsed.
pub(super) fn parse_checksum(text: Option<String>) -> Result<Option<Checksum>> {
    text.as_deref()
        .map(Checksum::parse)
        .transpose()
        .map_err(|e| CatalogError::Corrupt(format!("checksum: {e}")))
}
