//! Offsite copies (`offsite_copies`): one row per backup copied to the
//! bucket, with the state of that copy. A row says `stored` only after the
//! object's SHA-256 was read back from the bucket and matched, so a copy
//! whose upload was cut off is never taken for a good one.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::backups::parse_checksum;
use super::{BackupRecord, Catalog, CatalogError, Result, time};
use crate::domain::{BackupId, BackupStatus, Checksum};
use crate::engine::reading::Expected;
use crate::retention::BackupSummary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OffsiteState {
    Uploading,
    Stored,
    Failed,
    Deleting,
}

impl OffsiteState {
    pub fn as_str(self) -> &'static str {
        match self {
            OffsiteState::Uploading => "uploading",
            OffsiteState::Stored => "stored",
            OffsiteState::Failed => "failed",
            OffsiteState::Deleting => "deleting",
        }
    }
}

impl fmt::Display for OffsiteState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OffsiteState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "uploading" => Ok(OffsiteState::Uploading),
            "stored" => Ok(OffsiteState::Stored),
            "failed" => Ok(OffsiteState::Failed),
            "deleting" => Ok(OffsiteState::Deleting),
            other => Err(format!("unknown offsite state {other:?}")),
        }
    }
}

/// One backup's copy in the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsiteCopy {
    pub backup_id: BackupId,
    pub started_at: DateTime<Utc>,
    pub state: OffsiteState,
    pub object_key: String,
    /// `sha256:<hex>` of the `.db.gz` (as the local record says).
    pub checksum: Checksum,
    pub raw_checksum: Option<Checksum>,
    pub file_size: u64,
    pub original_size: Option<u64>,
    pub object_size: Option<u64>,
    /// `sha256:<hex>` of the object as stored (ciphertext when encrypted).
    pub object_checksum: Option<Checksum>,
    /// The age recipient the object is encrypted to.
    pub encrypted_to: Option<String>,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub uploaded_at: Option<DateTime<Utc>>,
    pub checked_at: Option<DateTime<Utc>>,
    pub check_result: Option<CheckResult>,
    pub check_detail: Option<String>,
}

impl OffsiteCopy {
    /// What the `.db.gz` inside the object must be.
    pub fn expected(&self) -> Expected {
        Expected {
            file_size: Some(self.file_size),
            checksum: self.checksum.clone(),
            original_size: self.original_size,
            raw_checksum: self.raw_checksum.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(as = OffsiteCheckResult)
)]
pub enum CheckResult {
    Pass,
    Fail,
}

impl CheckResult {
    fn as_str(self) -> &'static str {
        match self {
            CheckResult::Pass => "pass",
            CheckResult::Fail => "fail",
        }
    }
}

/// What an upload found when it read the object back.
#[derive(Debug, Clone)]
pub struct StoredObject {
    pub object_size: u64,
    pub object_checksum: Checksum,
    pub encrypted_to: Option<String>,
}

const COLUMNS: &str = "backup_id, started_at, state, object_key, checksum, raw_checksum,
    file_size, original_size, object_size, object_checksum, encrypted_to, attempts, last_error,
    uploaded_at, checked_at, check_result, check_detail";

fn from_row(row: &Row<'_>) -> Result<OffsiteCopy> {
    let id: String = row.get(0)?;
    let corrupt =
        |what: &str, e: String| CatalogError::Corrupt(format!("offsite {id} {what}: {e}"));
    let optional_time = |i: usize| -> Result<Option<DateTime<Utc>>> {
        row.get::<_, Option<String>>(i)?
            .map(|t| time::parse_utc(&t))
            .transpose()
    };
    Ok(OffsiteCopy {
        backup_id: BackupId::parse(&id).map_err(|e| corrupt("id", e.to_string()))?,
        started_at: time::parse_utc(&row.get::<_, String>(1)?)?,
        state: row
            .get::<_, String>(2)?
            .parse()
            .map_err(|e| corrupt("state", e))?,
        object_key: row.get(3)?,
        checksum: parse_checksum(row.get(4)?)?.ok_or_else(|| corrupt("checksum", "NULL".into()))?,
        raw_checksum: parse_checksum(row.get(5)?)?,
        file_size: row.get::<_, i64>(6)? as u64,
        original_size: row.get::<_, Option<i64>>(7)?.map(|n| n as u64),
        object_size: row.get::<_, Option<i64>>(8)?.map(|n| n as u64),
        object_checksum: parse_checksum(row.get(9)?)?,
        encrypted_to: row.get(10)?,
        attempts: row.get(11)?,
        last_error: row.get(12)?,
        uploaded_at: optional_time(13)?,
        checked_at: optional_time(14)?,
        check_result: match row.get::<_, Option<String>>(15)?.as_deref() {
            None => None,
            Some("pass") => Some(CheckResult::Pass),
            Some("fail") => Some(CheckResult::Fail),
            Some(other) => return Err(corrupt("check_result", other.to_owned())),
        },
        check_detail: row.get(16)?,
    })
}

impl Catalog {
    /// Records that an upload of `backup` to `object_key` starts (a first
    /// try or a retry). A copy already `stored` stays as it is: `Ok(false)`.
    pub fn begin_offsite_upload(&self, backup: &BackupRecord, object_key: &str) -> Result<bool> {
        let checksum = backup
            .checksum
            .as_ref()
            .map(Checksum::as_str)
            .ok_or_else(|| {
                CatalogError::Conflict(format!("backup {} has no checksum yet", backup.id))
            })?;
        let file_size = backup.file_size.ok_or_else(|| {
            CatalogError::Conflict(format!("backup {} has no file size yet", backup.id))
        })?;
        let conn = self.writer()?;
        let now = time::now_text();
        let changed = conn.execute(
            "INSERT INTO offsite_copies (backup_id, backup_type, started_at, state, object_key,
                 checksum, raw_checksum, file_size, original_size, attempts, created_at, updated_at)
             VALUES (?1, ?2, ?3, 'uploading', ?4, ?5, ?6, ?7, ?8, 1, ?9, ?9)
             ON CONFLICT (backup_id) DO UPDATE SET
                 state = 'uploading', object_key = excluded.object_key,
                 attempts = CASE WHEN state = 'failed' THEN 1 ELSE attempts + 1 END,
                 last_error = NULL, updated_at = excluded.updated_at
             WHERE state IN ('uploading', 'failed')",
            params![
                backup.id.to_string(),
                backup.id.backup_type().as_str(),
                time::format_utc(backup.started_at),
                object_key,
                checksum,
                backup.raw_checksum.as_ref().map(Checksum::as_str),
                file_size as i64,
                backup.original_size.map(|n| n as i64),
                now,
            ],
        )?;
        Ok(changed == 1)
    }

    /// The upload finished and the object read back matched.
    pub fn finish_offsite_upload(&self, id: &BackupId, stored: &StoredObject) -> Result<()> {
        let conn = self.writer()?;
        let now = time::now_text();
        conn.execute(
            "UPDATE offsite_copies SET state = 'stored', object_size = ?2, object_checksum = ?3,
                 encrypted_to = ?4, last_error = NULL, uploaded_at = ?5, checked_at = ?5,
                 check_result = 'pass', check_detail = 'checksum of the uploaded object matches',
                 updated_at = ?5
             WHERE backup_id = ?1",
            params![
                id.to_string(),
                stored.object_size as i64,
                stored.object_checksum.as_str(),
                stored.encrypted_to,
                now
            ],
        )?;
        Ok(())
    }

    /// An upload try failed; `give_up` when no try is left.
    pub fn fail_offsite_upload(&self, id: &BackupId, error: &str, give_up: bool) -> Result<()> {
        let conn = self.writer()?;
        conn.execute(
            "UPDATE offsite_copies SET last_error = ?2, updated_at = ?3,
                 state = CASE WHEN ?4 THEN 'failed' ELSE state END
             WHERE backup_id = ?1 AND state IN ('uploading', 'failed')",
            params![id.to_string(), error, time::now_text(), give_up],
        )?;
        Ok(())
    }

    /// A check of the stored copy was asked for: its last result is
    /// cleared, so `check_result` is `NULL` until the new one is recorded.
    /// `Ok(false)` when the copy is not stored.
    pub fn begin_offsite_check(&self, id: &BackupId) -> Result<bool> {
        let conn = self.writer()?;
        let changed = conn.execute(
            "UPDATE offsite_copies SET check_result = NULL, check_detail = 'queued',
                 updated_at = ?2
             WHERE backup_id = ?1 AND state = 'stored'",
            params![id.to_string(), time::now_text()],
        )?;
        Ok(changed == 1)
    }

    /// Records a read-back check of a stored copy.
    pub fn record_offsite_check(
        &self,
        id: &BackupId,
        result: CheckResult,
        detail: &str,
    ) -> Result<()> {
        let conn = self.writer()?;
        let changed = conn.execute(
            "UPDATE offsite_copies SET checked_at = ?2, check_result = ?3, check_detail = ?4,
                 updated_at = ?2
             WHERE backup_id = ?1",
            params![id.to_string(), time::now_text(), result.as_str(), detail],
        )?;
        if changed == 0 {
            return Err(CatalogError::NotFound);
        }
        Ok(())
    }

    pub fn get_offsite_copy(&self, id: &BackupId) -> Result<Option<OffsiteCopy>> {
        let conn = self.reader()?;
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM offsite_copies WHERE backup_id = ?1"),
            [id.to_string()],
            |row| Ok(from_row(row)),
        )
        .optional()?
        .transpose()
    }

    /// The copies of those of `ids` that have one, in one query.
    pub fn offsite_copies_of(&self, ids: &[BackupId]) -> Result<Vec<OffsiteCopy>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let ids = serde_json::to_string(&ids).map_err(|e| super::corrupt("backup ids", e))?;
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM offsite_copies
             WHERE backup_id IN (SELECT value FROM json_each(?1))"
        ))?;
        stmt.query_map([ids], |row| Ok(from_row(row)))?
            .map(|copy| copy?)
            .collect()
    }

    /// Successful backups finished before `before` that have no offsite
    /// copy, oldest first (whether each should get one is the offsite
    /// service's decision: `service::offsite::backlog`).
    pub fn backups_without_offsite_copy(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<BackupSummary>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT b.backup_id, b.started_at FROM backups b
             WHERE b.status = 'success' AND b.deleting_at IS NULL AND b.completed_at < ?1
               AND NOT EXISTS (SELECT 1 FROM offsite_copies o WHERE o.backup_id = b.backup_id)
             ORDER BY b.started_at",
        )?;
        let rows = stmt.query_map([time::format_utc(before)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        rows.map(|row| {
            let (id, started_at) = row?;
            Ok(BackupSummary {
                id: BackupId::parse(&id)
                    .map_err(|e| CatalogError::Corrupt(format!("backup {id}: {e}")))?,
                status: BackupStatus::Success,
                started_at: time::parse_utc(&started_at)?,
            })
        })
        .collect()
    }

    /// Every offsite copy, oldest first.
    pub fn list_offsite_copies(&self) -> Result<Vec<OffsiteCopy>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM offsite_copies ORDER BY started_at, backup_id"
        ))?;
        let rows = stmt.query_map([], |row| Ok(from_row(row)))?;
        rows.map(|r| r?).collect()
    }

    /// What offsite retention weighs: the stored copies, as summaries.
    pub fn offsite_summaries(&self) -> Result<Vec<BackupSummary>> {
        Ok(self
            .list_offsite_copies()?
            .into_iter()
            .filter(|c| c.state == OffsiteState::Stored)
            .map(|c| BackupSummary {
                id: c.backup_id,
                status: BackupStatus::Success,
                started_at: c.started_at,
            })
            .collect())
    }

    /// Marks a copy for removal by retention; the caller deletes the
    /// object, then [`Catalog::forget_offsite_copy`].
    pub fn begin_offsite_deletion(&self, id: &BackupId) -> Result<()> {
        let conn = self.writer()?;
        conn.execute(
            "UPDATE offsite_copies SET state = 'deleting', updated_at = ?2 WHERE backup_id = ?1",
            params![id.to_string(), time::now_text()],
        )
        .map(|_| ())
        .map_err(Into::into)
    }

    pub fn forget_offsite_copy(&self, id: &BackupId) -> Result<()> {
        let conn = self.writer()?;
        conn.execute(
            "DELETE FROM offsite_copies WHERE backup_id = ?1",
            [id.to_string()],
        )
        .map(|_| ())
        .map_err(Into::into)
    }

    /// The backup `id` as a restore needs it: its record, or, when the
    /// local record is gone (deleted or pruned before its offsite copy
    /// expired), a record made from its stored offsite copy, whose file is
    /// then fetched from the bucket. `NotFound` when neither exists.
    pub fn restorable_backup(&self, id: &BackupId) -> Result<BackupRecord> {
        match self.get_backup(id) {
            Err(CatalogError::NotFound) => {}
            other => return other,
        }
        let copy = self
            .get_offsite_copy(id)?
            .filter(|c| c.state == OffsiteState::Stored)
            .ok_or(CatalogError::NotFound)?;
        Ok(BackupRecord {
            id: copy.backup_id.clone(),
            status: BackupStatus::Success,
            phase: crate::domain::Phase::Done,
            progress_percent: 100,
            description: Some("offsite copy only (the local record is gone)".into()),
            file_path: copy.backup_id.relative_path(),
            file_size: Some(copy.file_size),
            original_size: copy.original_size,
            checksum: Some(copy.checksum),
            raw_checksum: copy.raw_checksum,
            created_by: crate::domain::CreatedBy {
                id: None,
                username: "offsite".into(),
            },
            started_at: copy.started_at,
            completed_at: copy.uploaded_at,
            error: None,
            job_id: None,
            attempts: 0,
        })
    }

    /// The copy of `id`, which must exist.
    pub fn offsite_copy(&self, id: &BackupId) -> Result<OffsiteCopy> {
        self.get_offsite_copy(id)?.ok_or(CatalogError::NotFound)
    }
}
