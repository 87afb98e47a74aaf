//! Restore records (SPEC §6) and the named locks that keep backups of the
//! live database waiting while a restore rewrites it.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Catalog, CatalogError, CreatedBy, ErrorInfo, OptionalRow, Result, time};
use crate::domain::{BackupId, BackupStatus};

/// The lock a restore holds on the ITSM database while it works.
pub const LIVE_DATABASE: &str = "live_database";

/// How often a backup waiting for a restore looks again.
const LOCK_POLL: Duration = Duration::from_millis(250);

/// `RST-<ULID>`: the id of a restore.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RestoreId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a restore id of the form RST-<26 characters>")]
pub struct InvalidRestoreId(pub String);

impl RestoreId {
    pub fn generate() -> Self {
        RestoreId(format!("RST-{}", ulid::Ulid::generate()))
    }

    pub fn parse(s: &str) -> Result<Self, InvalidRestoreId> {
        s.strip_prefix("RST-")
            .and_then(|rest| ulid::Ulid::from_string(rest).ok().filter(|u| u.to_string() == rest))
            .map(|_| RestoreId(s.to_owned()))
            .ok_or_else(|| InvalidRestoreId(s.chars().take(100).collect()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RestoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for RestoreId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RestoreId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RestoreId::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// The steps of a restore, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

/// The answer to a runner asking for a restore.
#[derive(Debug)]
pub enum RestoreClaim {
    /// The caller now runs it.
    Claimed(RestoreRecord),
    /// Someone else runs it, and their lease has not expired.
    HeldElsewhere { owner: String },
    /// Nothing left to run.
    Finished(BackupStatus),
}

#[derive(Debug, PartialEq, Eq)]
pub enum LockOutcome {
    Acquired,
    HeldBy { owner: String },
}

const COLUMNS: &str = "restore_id, backup_id, status, phase, target, safety_backup_id,
    requested_by_id, requested_by_name, started_at, completed_at, error_code, error_message,
    job_id, attempts";

fn corrupt(what: &str, e: impl fmt::Display) -> CatalogError {
    CatalogError::Corrupt(format!("{what}: {e}"))
}

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
            }),
            job_id,
            attempts: attempts.max(0) as u32,
        })
    })())
}

fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

fn expiry(ttl: Duration) -> i64 {
    now_millis() + ttl.as_millis() as i64
}

impl Catalog {
    /// Records a new restore as `in_progress`, phase `queued`.
    pub fn create_restore(&self, new: &NewRestore) -> Result<RestoreRecord> {
        let id = RestoreId::generate();
        let now = time::now_text();
        self.connect()?.execute(
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
        self.connect()?
            .query_row(
                &format!("SELECT {COLUMNS} FROM restores WHERE restore_id = ?1"),
                [id.as_str()],
                read_record,
            )
            .found()?
    }

    /// Newest first, with the total.
    pub fn list_restores(&self, limit: u32, offset: u32) -> Result<(Vec<RestoreRecord>, u64)> {
        let conn = self.connect()?;
        let total: i64 = conn.query_row("SELECT COUNT(*) FROM restores", [], |r| r.get(0))?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM restores ORDER BY started_at DESC, restore_id DESC
             LIMIT ?1 OFFSET ?2"
        ))?;
        let records = stmt
            .query_map([limit, offset], read_record)?
            .map(|r| r?)
            .collect::<Result<Vec<_>>>()?;
        Ok((records, total.max(0) as u64))
    }

    pub fn set_restore_job_id(&self, id: &RestoreId, job_id: &str) -> Result<()> {
        self.connect()?.execute(
            "UPDATE restores SET job_id = ?2 WHERE restore_id = ?1",
            (id.as_str(), job_id),
        )?;
        Ok(())
    }

    /// Takes the right to run a restore for `ttl`, unless a live lease of
    /// someone else holds it or it has finished. Counts the attempt.
    pub fn claim_restore(&self, id: &RestoreId, owner: &str, ttl: Duration) -> Result<RestoreClaim> {
        let mut conn = self.connect()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (status, holder, expires): (String, Option<String>, Option<i64>) = tx
            .query_row(
                "SELECT status, lease_owner, lease_expires_at FROM restores WHERE restore_id = ?1",
                [id.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .found()?;
        let status: BackupStatus = status.parse().map_err(|e| corrupt("status", e))?;
        if status.is_terminal() {
            return Ok(RestoreClaim::Finished(status));
        }
        if let (Some(holder), Some(expires)) = (holder, expires)
            && holder != owner
            && expires > now_millis()
        {
            return Ok(RestoreClaim::HeldElsewhere { owner: holder });
        }
        tx.execute(
            "UPDATE restores SET lease_owner = ?2, lease_expires_at = ?3, attempts = attempts + 1
             WHERE restore_id = ?1",
            params![id.as_str(), owner, expiry(ttl)],
        )?;
        tx.commit()?;
        self.get_restore(id).map(RestoreClaim::Claimed)
    }

    /// Extends the lease. False when the caller no longer holds it.
    pub fn renew_restore(&self, id: &RestoreId, owner: &str, ttl: Duration) -> Result<bool> {
        let updated = self.connect()?.execute(
            "UPDATE restores SET lease_expires_at = ?3
             WHERE restore_id = ?1 AND lease_owner = ?2 AND status = 'in_progress'",
            params![id.as_str(), owner, expiry(ttl)],
        )?;
        Ok(updated == 1)
    }

    /// Records the phase the restore enters.
    pub fn set_restore_phase(&self, id: &RestoreId, owner: &str, phase: RestorePhase) -> Result<bool> {
        let updated = self.connect()?.execute(
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
        let updated = self.connect()?.execute(
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
        let updated = self.connect()?.execute(
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
        Ok(updated == 1)
    }

    /// Takes the lock `name` for `ttl`, unless someone else holds it and
    /// has not let it expire. Taking it again as its owner renews it.
    pub fn acquire_lock(&self, name: &str, owner: &str, ttl: Duration) -> Result<LockOutcome> {
        let mut conn = self.connect()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let holder: Option<(String, i64)> = tx
            .query_row(
                "SELECT owner, expires_at FROM locks WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((holder, expires)) = holder
            && holder != owner
            && expires > now_millis()
        {
            return Ok(LockOutcome::HeldBy { owner: holder });
        }
        let now = time::now_text();
        tx.execute(
            "INSERT INTO locks (name, owner, let_through, expires_at, acquired_at, created_at)
             VALUES (?1, ?2, NULL, ?3, ?4, ?4)
             ON CONFLICT (name) DO UPDATE SET owner = ?2, let_through = NULL, expires_at = ?3,
                 acquired_at = ?4",
            params![name, owner, expiry(ttl), now],
        )?;
        tx.commit()?;
        Ok(LockOutcome::Acquired)
    }

    /// Extends a held lock. False when the caller no longer holds it.
    pub fn renew_lock(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool> {
        let updated = self.connect()?.execute(
            "UPDATE locks SET expires_at = ?3 WHERE name = ?1 AND owner = ?2",
            params![name, owner, expiry(ttl)],
        )?;
        Ok(updated == 1)
    }

    pub fn release_lock(&self, name: &str, owner: &str) -> Result<()> {
        self.connect()?.execute(
            "DELETE FROM locks WHERE name = ?1 AND owner = ?2",
            (name, owner),
        )?;
        Ok(())
    }

    /// Lets one backup through the held lock `name` (the restore's own
    /// safety backup); None lets none through.
    pub fn let_through_lock(&self, name: &str, owner: &str, backup: Option<&BackupId>) -> Result<bool> {
        let updated = self.connect()?.execute(
            "UPDATE locks SET let_through = ?3 WHERE name = ?1 AND owner = ?2",
            params![name, owner, backup.map(|b| b.to_string())],
        )?;
        Ok(updated == 1)
    }

    /// For the backup runner, before its snapshot: waits while a restore
    /// holds [`LIVE_DATABASE`] (unless it lets this backup through).
    /// Returns false if `stop` asked to give up first.
    ///
    /// When the way is clear the backup's phase becomes `preflight` in the
    /// same transaction, so a restore that takes the lock right after sees
    /// it among [`Catalog::backups_reading_live_database`] and waits for
    /// its snapshot to end.
    pub fn wait_for_live_database(&self, backup: &BackupId, stop: &dyn Fn() -> bool) -> Result<bool> {
        let mut told = false;
        loop {
            let mut conn = self.connect()?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let holder: Option<(String, Option<String>)> = tx
                .query_row(
                    "SELECT owner, let_through FROM locks WHERE name = ?1 AND expires_at > ?2",
                    params![LIVE_DATABASE, now_millis()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match holder {
                Some((owner, let_through)) if let_through.as_deref() != Some(&backup.to_string()) => {
                    drop(tx);
                    if !told {
                        tracing::info!(backup_id = %backup, restore = %owner, "a restore is rewriting the database: waiting for it to finish");
                        told = true;
                    }
                }
                _ => {
                    tx.execute(
                        "UPDATE backups SET phase = 'preflight'
                         WHERE backup_id = ?1 AND status = 'in_progress' AND phase = 'queued'",
                        [backup.to_string()],
                    )?;
                    tx.commit()?;
                    return Ok(true);
                }
            }
            if stop() {
                return Ok(false);
            }
            std::thread::sleep(LOCK_POLL);
        }
    }

    /// Backups running their pre-flight or snapshot, i.e. reading the live
    /// database, under a live lease.
    pub fn backups_reading_live_database(&self) -> Result<Vec<BackupId>> {
        let conn = self.connect()?;
        let mut stmt = conn.prepare(
            "SELECT backup_id FROM backups
             WHERE status = 'in_progress' AND phase IN ('preflight', 'snapshot')
               AND lease_owner IS NOT NULL AND lease_expires_at > ?1",
        )?;
        stmt.query_map([now_millis()], |r| r.get::<_, String>(0))?
            .map(|id| BackupId::parse(&id?).map_err(|e| corrupt("backup id", e)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::NewBackup;
    use crate::domain::BackupType;

    fn catalog() -> (tempfile::TempDir, Catalog) {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(&dir.path().join("catalog.db")).unwrap();
        (dir, catalog)
    }

    fn admin() -> CreatedBy {
        CreatedBy {
            id: None,
            username: "admin".into(),
        }
    }

    fn backup(catalog: &Catalog, dir: &std::path::Path) -> BackupId {
        let new = NewBackup {
            backup_type: BackupType::Manual,
            description: None,
            created_by: admin(),
            started_at: Utc::now(),
        };
        catalog
            .create_backup(&new, chrono_tz::Asia::Tokyo, dir)
            .unwrap()
            .id
    }

    #[test]
    fn restore_ids_parse_only_in_their_own_form() {
        let id = RestoreId::generate();
        assert_eq!(RestoreId::parse(id.as_str()).unwrap(), id);
        for bad in ["", "RST-", "RST-../../etc", "BKP-20260131-143025-manual", "rst-01ARZ3NDEKTSV4RRFFQ69G5FAV"] {
            assert!(RestoreId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_restore_is_run_by_one_claimant_and_records_its_outcome() {
        let (dir, catalog) = catalog();
        let backup_id = backup(&catalog, dir.path());
        let record = catalog
            .create_restore(&NewRestore {
                backup_id: backup_id.clone(),
                target: "/srv/itsm_nexus.db".into(),
                requested_by: admin(),
            })
            .unwrap();
        assert_eq!((record.status, record.phase), (BackupStatus::InProgress, RestorePhase::Queued));
        let ttl = Duration::from_secs(60);

        let RestoreClaim::Claimed(claimed) = catalog.claim_restore(&record.id, "a", ttl).unwrap() else {
            panic!("first claim")
        };
        assert_eq!(claimed.attempts, 1);
        assert!(matches!(
            catalog.claim_restore(&record.id, "b", ttl).unwrap(),
            RestoreClaim::HeldElsewhere { owner } if owner == "a"
        ));
        assert!(catalog.set_restore_phase(&record.id, "a", RestorePhase::Apply).unwrap());
        assert!(!catalog.set_restore_phase(&record.id, "b", RestorePhase::Done).unwrap());
        assert!(catalog.set_restore_safety_backup(&record.id, "a", &backup_id).unwrap());
        let error = ErrorInfo {
            code: "restore_rolled_back".into(),
            message: "test".into(),
        };
        assert!(catalog.finish_restore(&record.id, Some("a"), Some(&error)).unwrap());

        let done = catalog.get_restore(&record.id).unwrap();
        assert_eq!(done.status, BackupStatus::Failure);
        assert_eq!(done.phase, RestorePhase::Apply);
        assert_eq!(done.safety_backup_id, Some(backup_id));
        assert_eq!(done.error, Some(error));
        assert!(matches!(
            catalog.claim_restore(&record.id, "b", ttl).unwrap(),
            RestoreClaim::Finished(BackupStatus::Failure)
        ));
        assert_eq!(catalog.list_restores(10, 0).unwrap().1, 1);
    }

    #[test]
    fn a_backup_waits_while_a_restore_holds_the_live_database_unless_it_is_let_through() {
        let (dir, catalog) = catalog();
        let waiting = backup(&catalog, dir.path());
        let safety = backup(&catalog, dir.path());
        let ttl = Duration::from_secs(60);
        assert_eq!(catalog.acquire_lock(LIVE_DATABASE, "restore", ttl).unwrap(), LockOutcome::Acquired);
        assert_eq!(
            catalog.acquire_lock(LIVE_DATABASE, "other", ttl).unwrap(),
            LockOutcome::HeldBy { owner: "restore".into() }
        );
        assert!(catalog.let_through_lock(LIVE_DATABASE, "restore", Some(&safety)).unwrap());
        assert!(catalog.wait_for_live_database(&safety, &|| true).unwrap());
        assert!(!catalog.wait_for_live_database(&waiting, &|| true).unwrap(), "gives up when told to");

        let released = std::thread::scope(|s| {
            let waiter = s.spawn(|| catalog.wait_for_live_database(&waiting, &|| false));
            std::thread::sleep(Duration::from_millis(600));
            assert!(!waiter.is_finished(), "the backup must wait for the restore");
            catalog.release_lock(LIVE_DATABASE, "restore").unwrap();
            waiter.join().unwrap().unwrap()
        });
        assert!(released);
        assert_eq!(catalog.get_backup(&waiting).unwrap().phase.as_str(), "preflight");
    }

    #[test]
    fn an_expired_lock_is_free_to_take() {
        let (_dir, catalog) = catalog();
        catalog.acquire_lock(LIVE_DATABASE, "dead", Duration::ZERO).unwrap();
        assert_eq!(
            catalog.acquire_lock(LIVE_DATABASE, "alive", Duration::from_secs(60)).unwrap(),
            LockOutcome::Acquired
        );
        assert!(!catalog.renew_lock(LIVE_DATABASE, "dead", Duration::from_secs(60)).unwrap());
    }
}
