//! Integrity verifications (SPEC §4), in `backup_integrity_checks`: one
//! record per run of the five checks, with each check's result, who asked,
//! when it finished and how long it took.
//!
//! At most one verification of a backup runs at a time (a partial unique
//! index says so). A runner holds a verification with a lease it renews;
//! a verification whose runner died, or whose job was never enqueued, is
//! closed as abandoned the next time someone asks to verify that backup.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};
use serde::Serialize;

use super::leases::{lease_columns, now_millis};
use super::{Catalog, OptionalRow, Result, corrupt, time};
use crate::domain::{BackupId, BackupStatus, CheckId, CheckResult, CreatedBy};
use crate::engine::verify::VerifyReport;

/// A verification still `in_progress` with no lease and no job after this
/// long was never enqueued (the API died between its two writes).
const ENQUEUE_GRACE: chrono::Duration = chrono::Duration::seconds(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum VerificationStatus {
    InProgress,
    Pass,
    Fail,
}

impl VerificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationStatus::InProgress => "in_progress",
            VerificationStatus::Pass => "pass",
            VerificationStatus::Fail => "fail",
        }
    }
}

impl fmt::Display for VerificationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VerificationStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "in_progress" => Ok(VerificationStatus::InProgress),
            "pass" => Ok(VerificationStatus::Pass),
            "fail" => Ok(VerificationStatus::Fail),
            other => Err(format!("unknown verification status {other:?}")),
        }
    }
}

/// One verification of a backup.
#[derive(Debug, Clone)]
pub struct Verification {
    pub check_id: CheckId,
    pub backup_id: BackupId,
    pub status: VerificationStatus,
    /// Empty while in progress; the five results once finished.
    pub checks: Vec<CheckResult>,
    pub requested_by: CreatedBy,
    pub started_at: DateTime<Utc>,
    pub checked_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<u64>,
    /// The queue job that runs it, when it has a job of its own.
    pub job_id: Option<String>,
}

/// What asking to verify a backup did.
#[derive(Debug)]
pub enum Begun {
    /// A new verification, `in_progress`.
    Started(Verification),
    /// The backup is being verified already: that verification.
    AlreadyRunning(Verification),
    /// Only a successful backup has a file to verify.
    NotVerifiable(BackupStatus),
}

const COLUMNS: &str = "check_id, backup_id, status, checks, requested_by_id, requested_by_name,
    started_at, checked_at, duration_ms, job_id";

type RawRow = (
    String,
    String,
    String,
    String,
    Option<i64>,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
);

fn read_row(row: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
    ))
}

fn to_verification(raw: RawRow) -> Result<Verification> {
    let (check_id, backup_id, status, checks, by_id, by_name, started, checked, ms, job_id) = raw;
    Ok(Verification {
        backup_id: BackupId::parse(&backup_id).map_err(|e| corrupt("backup id", e))?,
        status: status.parse().map_err(|e| corrupt("status", e))?,
        checks: serde_json::from_str(&checks).map_err(|e| corrupt("checks", e))?,
        requested_by: CreatedBy {
            id: by_id,
            username: by_name,
        },
        started_at: time::parse_utc(&started)?,
        checked_at: checked.as_deref().map(time::parse_utc).transpose()?,
        duration_ms: ms.map(|n| n.max(0) as u64),
        job_id,
        check_id: CheckId::parse(&check_id).map_err(|e| corrupt("check id", e))?,
    })
}

pub(super) fn get(tx: &rusqlite::Connection, check_id: &CheckId) -> Result<Verification> {
    let raw = tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM backup_integrity_checks WHERE check_id = ?1"),
            [check_id.as_str()],
            read_row,
        )
        .found()?;
    to_verification(raw)
}

/// Records the result of an `in_progress` verification and drops its lease.
fn finish(
    conn: &rusqlite::Connection,
    check_id: &CheckId,
    report: &VerifyReport,
    duration: Duration,
) -> Result<bool> {
    let status = if report.passed {
        VerificationStatus::Pass
    } else {
        VerificationStatus::Fail
    };
    let checks = serde_json::to_string(&report.checks).map_err(|e| corrupt("checks", e))?;
    let updated = conn.execute(
        "UPDATE backup_integrity_checks
         SET status = ?2, checks = ?3, checked_at = ?4, duration_ms = ?5, lease_owner = NULL,
             lease_expires_at = NULL
         WHERE check_id = ?1 AND status = 'in_progress'",
        params![
            check_id.as_str(),
            status.as_str(),
            checks,
            time::now_text(),
            duration.as_millis() as i64
        ],
    )?;
    Ok(updated == 1)
}

impl Catalog {
    /// Starts a verification of a successful backup, unless one is running
    /// already. With `lease`, the caller runs it at once and holds it for
    /// that long; without, it waits for a job (see
    /// [`Catalog::set_verification_job`]). `NotFound` if there is no such
    /// backup.
    pub fn begin_verification(
        &self,
        backup_id: &BackupId,
        requested_by: &CreatedBy,
        lease: Option<(&str, Duration)>,
    ) -> Result<Begun> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let status: String = tx
            .query_row(
                "SELECT status FROM backups WHERE backup_id = ?1",
                [backup_id.to_string()],
                |r| r.get(0),
            )
            .found()?;
        let status: BackupStatus = status.parse().map_err(|e| corrupt("status", e))?;
        if status != BackupStatus::Success {
            return Ok(Begun::NotVerifiable(status));
        }
        let running: Option<(RawRow, Option<i64>)> = tx
            .query_row(
                &format!(
                    "SELECT {COLUMNS}, lease_expires_at FROM backup_integrity_checks
                     WHERE backup_id = ?1 AND status = 'in_progress'"
                ),
                [backup_id.to_string()],
                |r| Ok((read_row(r)?, r.get(10)?)),
            )
            .optional()?;
        if let Some((raw, lease_expires_at)) = running {
            let running = to_verification(raw)?;
            let abandoned = match lease_expires_at {
                Some(expires) => expires < now_millis(),
                None => running.job_id.is_none() && Utc::now() - running.started_at > ENQUEUE_GRACE,
            };
            if !abandoned {
                return Ok(Begun::AlreadyRunning(running));
            }
            tracing::warn!(backup_id = %backup_id, check_id = %running.check_id,
                "closing a verification whose runner is gone");
            let report =
                VerifyReport::not_run("the verification was abandoned (its runner stopped)");
            let elapsed = (Utc::now() - running.started_at)
                .to_std()
                .unwrap_or_default();
            finish(&tx, &running.check_id, &report, elapsed)?;
        }
        let check_id = CheckId::generate();
        let now = time::now_text();
        let (lease_owner, lease_expires_at) = lease_columns(lease);
        tx.execute(
            "INSERT INTO backup_integrity_checks (check_id, backup_id, status, checks,
                 requested_by_id, requested_by_name, started_at, lease_owner, lease_expires_at,
                 created_at)
             VALUES (?1, ?2, 'in_progress', '[]', ?3, ?4, ?5, ?6, ?7, ?5)",
            params![
                check_id.as_str(),
                backup_id.to_string(),
                requested_by.id,
                requested_by.username,
                now,
                lease_owner,
                lease_expires_at,
            ],
        )?;
        let started = get(&tx, &check_id)?;
        tx.commit()?;
        Ok(Begun::Started(started))
    }

    /// Records the queue job that will run a verification.
    pub fn set_verification_job(&self, check_id: &CheckId, job_id: &str) -> Result<()> {
        let conn = self.writer()?;
        conn.execute(
            "UPDATE backup_integrity_checks SET job_id = ?2 WHERE check_id = ?1",
            (check_id.as_str(), job_id),
        )?;
        Ok(())
    }

    /// Records the result: `pass` when every check passed, else `fail`.
    /// False when the verification was no longer in progress.
    pub fn finish_verification(&self, check_id: &CheckId, report: &VerifyReport) -> Result<bool> {
        let conn = self.writer()?;
        finish(&conn, check_id, report, report.duration)
    }

    pub fn get_verification(&self, check_id: &CheckId) -> Result<Verification> {
        let mut conn = self.reader()?;
        let tx = conn.transaction()?;
        get(&tx, check_id)
    }

    /// A backup's verifications, newest first.
    pub fn list_verifications(
        &self,
        backup_id: &BackupId,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Verification>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM backup_integrity_checks WHERE backup_id = ?1
             ORDER BY started_at DESC, check_id DESC LIMIT ?2 OFFSET ?3"
        ))?;
        stmt.query_map(params![backup_id.to_string(), limit, offset], read_row)?
            .map(|raw| to_verification(raw?))
            .collect()
    }

    /// The last finished verification of each of `backup_ids` that has one,
    /// by backup id.
    pub fn last_verifications(
        &self,
        backup_ids: &[BackupId],
    ) -> Result<HashMap<BackupId, Verification>> {
        if backup_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<String> = backup_ids.iter().map(ToString::to_string).collect();
        let ids = serde_json::to_string(&ids).map_err(|e| corrupt("backup ids", e))?;
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM (
                 SELECT *, ROW_NUMBER() OVER (
                     PARTITION BY backup_id ORDER BY checked_at DESC, check_id DESC) AS n
                 FROM backup_integrity_checks
                 WHERE status != 'in_progress'
                   AND backup_id IN (SELECT value FROM json_each(?1)))
             WHERE n = 1"
        ))?;
        stmt.query_map([ids], read_row)?
            .map(|raw| to_verification(raw?).map(|v| (v.backup_id.clone(), v)))
            .collect()
    }

    /// The newest successful backup whose last finished verification
    /// passed, with that verification: the one to restore from when the
    /// live database is damaged.
    pub fn newest_verified_backup(&self) -> Result<Option<Verification>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM (
                 SELECT c.*, b.started_at AS backup_started_at, ROW_NUMBER() OVER (
                     PARTITION BY c.backup_id ORDER BY c.checked_at DESC, c.check_id DESC) AS n
                 FROM backup_integrity_checks c JOIN backups b USING (backup_id)
                 WHERE c.status != 'in_progress' AND b.status = 'success')
             WHERE n = 1 AND status = 'pass'
             ORDER BY backup_started_at DESC, backup_id DESC LIMIT 1"
        ))?;
        stmt.query_map([], read_row)?
            .map(|raw| to_verification(raw?))
            .next()
            .transpose()
    }
}
