//! A restore of the live database, end to end (SPEC §6), recorded in the
//! catalog. The worker's restore job runs it on a blocking thread; the CLI
//! can run it in-process. Steps, each audited (`restore.<step>`):
//!
//! 1. take the catalog lock [`LIVE_DATABASE`]: one restore at a time, and
//!    backups wait before their snapshot while it is held;
//! 2. `verify`: the backup is decompressed into `<backup_root>/.tmp/` and
//!    checked (both checksums, size, complete gzip) before anything is
//!    touched;
//! 3. `safety_backup`: a `before_restore` backup of the live database,
//!    recorded and run by the ordinary [`super::BackupRunner`], so it is listed,
//!    verifiable and restorable like any other;
//! 4. `apply`: the copy is written into the live database
//!    ([`crate::engine::restore::apply`]), once no backup is still copying
//!    it. The copy's `integrity_check` runs beside the write, which commits
//!    only once it passed: a copy that fails it leaves the live database
//!    unchanged, as in step 2. (Its checksums matched, so its bytes are the
//!    ones checked when the backup was taken: an offsite copy, with the
//!    same checksums, could not do better.)
//! 5. `check`: `integrity_check` on the live database;
//! 6. `rollback`, when the live database was changed and a later step
//!    failed: the safety backup is put back the same way. If that fails
//!    too, both errors are reported (`rollback_failed`).
//!
//! A failure is logged at ERROR and recorded with its code; the live
//! database is then as it was before the restore, except after
//! `rollback_failed`.

mod safety;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{Failure, LeaseKeeper, Outcome, audit, audit_entry};
use crate::alert::Alert;
use crate::catalog::{
    AuditEntry, AuditResult, AuditSource, BackupRecord, Catalog, CatalogError, Claim,
    LIVE_DATABASE, LockOutcome, RestorePhase, RestoreRecord,
};
use crate::domain::{BackupId, BackupStatus, ErrorInfo, RestoreId};
use crate::engine::restore::{RestoreError, apply, check_live};
use crate::offsite::OffsiteError;
use crate::settings::Settings;

/// How long the apply waits for the application's write transactions.
const LOCK_WAIT: Duration = Duration::from_secs(60);
/// How long a restore waits for backups that were already copying the live
/// database when it took the lock. After that it goes on: in WAL mode their
/// snapshot stays consistent anyway.
const READERS_WAIT: Duration = Duration::from_secs(30 * 60);
const POLL: Duration = Duration::from_millis(250);

/// **Test only.** `NEXUS_TEST_FAIL_RESTORE_AFTER=verify|safety_backup|apply`
/// makes a restore fail right after that step (after `apply`, as if the
/// post-check failed), so the end-to-end tests can show what a failure
/// there leaves behind. Read here and nowhere else, and only in debug
/// builds: release builds ignore it.
pub const FAIL_AFTER_ENV: &str = "NEXUS_TEST_FAIL_RESTORE_AFTER";

/// Why a step of a restore failed.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    /// The local file failed, and so did the offsite copy that was to stand in.
    #[error("{local}; the offsite copy could not stand in: {offsite}")]
    OffsiteFailed {
        local: Box<RestoreError>,
        offsite: Box<OffsiteError>,
    },
    /// Only from the test hook [`FAIL_AFTER_ENV`].
    #[error("failure injected by NEXUS_TEST_FAIL_RESTORE_AFTER={0} (test hook)")]
    Injected(String),
}

impl StepError {
    /// The snake_case code recorded and sent to clients.
    fn code(&self) -> &'static str {
        match self {
            StepError::Restore(e) => e.code(),
            StepError::Engine(e) => e.code(),
            StepError::OffsiteFailed { offsite, .. } => offsite.code(),
            StepError::Injected(_) => "injected_failure",
        }
    }
}

/// The lock on the live database, once taken: renewed with the restore's
/// lease, released when dropped.
struct LiveLock {
    catalog: Catalog,
    owner: String,
    held: Arc<AtomicBool>,
}

impl Drop for LiveLock {
    fn drop(&mut self) {
        if self.held.load(Ordering::SeqCst)
            && let Err(e) = self.catalog.release_lock(LIVE_DATABASE, &self.owner)
        {
            tracing::warn!(error = %e, "cannot release the restore lock; it expires by itself");
        }
    }
}

pub struct RestoreRunner<'a> {
    pub catalog: &'a Catalog,
    pub settings: &'a Settings,
    /// Unique to this run, e.g. `<worker name>/<ulid>`.
    pub owner: String,
    pub audit_source: AuditSource,
}

/// Why the steps stopped.
enum Stop {
    Failed(ErrorInfo),
    HandedOver(String),
    Catalog(CatalogError),
}

impl From<CatalogError> for Stop {
    fn from(e: CatalogError) -> Self {
        Stop::Catalog(e)
    }
}

fn failed(code: &str, message: String) -> Stop {
    Stop::Failed(ErrorInfo {
        code: code.to_owned(),
        message,
        details: None,
    })
}

impl RestoreRunner<'_> {
    /// Runs the recorded restore `id` to its end and records the outcome.
    pub fn run(&self, id: &RestoreId) -> Result<Outcome<BackupId>, CatalogError> {
        let ttl = self.settings.lease_ttl();
        let record = match self.catalog.claim_restore(id, &self.owner, ttl)? {
            Claim::Claimed(record) => *record,
            Claim::Finished(status) => {
                return Ok(Outcome::AlreadyFinished(status.to_string()));
            }
            Claim::HeldElsewhere { owner } => {
                return Ok(Outcome::HeldElsewhere { owner });
            }
        };
        tracing::info!(restore_id = %id, backup_id = %record.backup_id, target = %record.target.display(), "starting a restore");
        let lock = LiveLock {
            catalog: self.catalog.clone(),
            owner: self.owner.clone(),
            held: Arc::new(AtomicBool::new(false)),
        };
        let keeper = LeaseKeeper::start("restore", ttl, {
            let (catalog, id, owner) = (self.catalog.clone(), id.clone(), self.owner.clone());
            let held = lock.held.clone();
            move || {
                let kept = catalog.renew_restore(&id, &owner, ttl);
                if held.load(Ordering::SeqCst) && !catalog.renew_lock(LIVE_DATABASE, &owner, ttl)? {
                    tracing::error!("the lock on the live database was lost");
                }
                kept
            }
        });
        let result = self.steps(&record, &keeper, &lock);
        drop(keeper);
        drop(lock);
        match result {
            Ok(safety) => {
                let detail = format!(
                    "{} restored into {}; safety backup {safety}",
                    record.backup_id,
                    record.target.display()
                );
                let entry = self.audit_entry(&record, "restore.run", AuditResult::Success, &detail);
                self.catalog
                    .finish_restore_audited(id, Some(&self.owner), None, Some(&entry))?;
                tracing::info!(restore_id = %id, "{detail}");
                Ok(Outcome::Succeeded(safety))
            }
            Err(Stop::Failed(error)) => {
                let detail = format!("{}: {}", error.code, error.message);
                let entry = self.audit_entry(&record, "restore.run", AuditResult::Failure, &detail);
                self.catalog.finish_restore_audited(
                    id,
                    Some(&self.owner),
                    Some(&error),
                    Some(&entry),
                )?;
                // alert: the caller delivers the outcome's `Alert::RestoreFailed`:
                // the worker's restore job mails it; the CLI queues it.
                tracing::error!(restore_id = %id, backup_id = %record.backup_id, code = %error.code, message = %error.message, "restore failed");
                let alert = Alert::RestoreFailed {
                    restore_id: id.to_string(),
                    backup_id: record.backup_id.to_string(),
                    code: error.code.clone(),
                    message: error.message.clone(),
                    at: chrono::Utc::now(),
                };
                Ok(Outcome::Failed(Failure { error, alert }))
            }
            Err(Stop::HandedOver(reason)) => Ok(Outcome::HandedOver(reason)),
            Err(Stop::Catalog(e)) => Err(e),
        }
    }

    fn steps(
        &self,
        record: &RestoreRecord,
        keeper: &LeaseKeeper,
        lock: &LiveLock,
    ) -> Result<BackupId, Stop> {
        let backup = self.restorable(record)?;
        self.lock(keeper, lock)?;
        let live = self.settings.db_path.as_path();

        self.enter(record, RestorePhase::Verify)?;
        let copy = self
            .verify(record, &backup, "")
            .and_then(|copy| injected_failure("verify").map(|()| copy))
            .map_err(|e| self.step_failed(record, "restore.verify", e, "nothing was changed"))?;
        self.audit(
            record,
            "restore.verify",
            AuditResult::Success,
            format!(
                "{}: {} matches, {} bytes decompressed",
                backup.id,
                backup
                    .checksum
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                copy.bytes()
            ),
        );

        self.enter(record, RestorePhase::SafetyBackup)?;
        let safety = self.safety_backup(record)?;
        injected_failure("safety_backup").map_err(|e| {
            self.step_failed(
                record,
                "restore.test_hook",
                e,
                "the live database was not changed",
            )
        })?;

        self.wait_for_readers()?;
        if keeper.lost() {
            return Err(Stop::HandedOver(
                "the lease on this restore was taken over".into(),
            ));
        }
        self.enter(record, RestorePhase::Apply)?;
        let applied = apply(&copy, live, LOCK_WAIT);
        drop(copy);
        match applied {
            Ok(applied) => self.audit(
                record,
                "restore.apply",
                AuditResult::Success,
                format!(
                    "integrity_check of the copy ok in {} ms; {} pages ({} bytes) written into {} \
                     in {} ms",
                    applied.copy_check.as_millis(),
                    applied.pages,
                    applied.bytes,
                    live.display(),
                    applied.duration.as_millis()
                ),
            ),
            Err(failure) if failure.live_changed => {
                let detail = format!("{}: {}", failure.error.code(), failure.error);
                self.audit(record, "restore.apply", AuditResult::Failure, detail);
                return Err(self.roll_back(record, &safety, "apply", &failure.error.into()));
            }
            Err(failure) => {
                return Err(self.step_failed(
                    record,
                    "restore.apply",
                    failure.error.into(),
                    "the live database was not changed",
                ));
            }
        }

        self.enter(record, RestorePhase::PostCheck)?;
        if let Err(e) = injected_failure("apply").and_then(|()| Ok(check_live(live)?)) {
            let detail = format!("{}: {e}", e.code());
            self.audit(record, "restore.check", AuditResult::Failure, detail);
            return Err(self.roll_back(record, &safety, "the check after the restore", &e));
        }
        self.audit(
            record,
            "restore.check",
            AuditResult::Success,
            "integrity_check: ok".into(),
        );
        Ok(safety.id)
    }

    /// The backup to restore, if this restore may go ahead at all.
    fn restorable(&self, record: &RestoreRecord) -> Result<BackupRecord, Stop> {
        if record.attempts > 1 && record.phase >= RestorePhase::Apply {
            let safety = record
                .safety_backup_id
                .as_ref()
                .map_or_else(|| "-".into(), ToString::to_string);
            return Err(failed(
                "restore_interrupted",
                format!(
                    "an earlier run stopped during {} (its worker died). The live database holds \
                     either its previous content or the backup's, each whole; the safety backup \
                     {safety} holds the previous content",
                    record.phase.as_str()
                ),
            ));
        }
        if record.target != self.settings.db_path {
            return Err(failed(
                "target_mismatch",
                format!(
                    "the restore is for {} but this process protects {}",
                    record.target.display(),
                    self.settings.db_path.display()
                ),
            ));
        }
        let backup = match self.catalog.restorable_backup(&record.backup_id) {
            Err(CatalogError::NotFound) => {
                return Err(failed(
                    "backup_not_found",
                    format!("backup {} no longer exists", record.backup_id),
                ));
            }
            other => other?,
        };
        if backup.status != BackupStatus::Success || backup.checksum.is_none() {
            return Err(failed(
                "backup_not_restorable",
                format!("backup {} is {}", backup.id, backup.status),
            ));
        }
        Ok(backup)
    }

    /// Takes the lock on the live database, waiting for another restore.
    fn lock(&self, keeper: &LeaseKeeper, lock: &LiveLock) -> Result<(), Stop> {
        let mut told = false;
        loop {
            match self.catalog.acquire_lock(
                LIVE_DATABASE,
                &self.owner,
                self.settings.lease_ttl(),
            )? {
                LockOutcome::Acquired => {
                    lock.held.store(true, Ordering::SeqCst);
                    return Ok(());
                }
                LockOutcome::HeldBy { owner } if !told => {
                    tracing::info!(holder = %owner, "another restore is running: waiting for it");
                    told = true;
                }
                LockOutcome::HeldBy { .. } => {}
            }
            if keeper.lost() {
                return Err(Stop::HandedOver(
                    "the lease on this restore was taken over".into(),
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits for backups that were already copying the live database when
    /// the lock was taken (later ones wait for the lock).
    fn wait_for_readers(&self) -> Result<(), Stop> {
        let deadline = Instant::now() + READERS_WAIT;
        let mut told = false;
        loop {
            let readers = self.catalog.backups_reading_live_database()?;
            if readers.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                tracing::warn!(?readers, "backups still copying the database; going on");
                return Ok(());
            }
            if !told {
                tracing::info!(
                    ?readers,
                    "waiting for backups copying the database to finish"
                );
                told = true;
            }
            std::thread::sleep(POLL);
        }
    }

    /// A step failed before the live database was changed.
    fn step_failed(
        &self,
        record: &RestoreRecord,
        action: &'static str,
        e: StepError,
        state: &str,
    ) -> Stop {
        tracing::error!(restore_id = %record.id, code = e.code(), error = %e, "{action} failed");
        self.audit(
            record,
            action,
            AuditResult::Failure,
            format!("{}: {e}", e.code()),
        );
        failed(e.code(), format!("{e}; {state}"))
    }

    fn enter(&self, record: &RestoreRecord, phase: RestorePhase) -> Result<(), Stop> {
        if self
            .catalog
            .set_restore_phase(&record.id, &self.owner, phase)?
        {
            Ok(())
        } else {
            Err(Stop::HandedOver(
                "the lease on this restore was taken over".into(),
            ))
        }
    }

    fn audit(
        &self,
        record: &RestoreRecord,
        action: &'static str,
        result: AuditResult,
        detail: String,
    ) {
        audit(
            self.catalog,
            self.audit_entry(record, action, result, &detail),
        );
    }

    /// An entry of this restore's steps, naming the backup and who asked.
    fn audit_entry(
        &self,
        record: &RestoreRecord,
        action: &'static str,
        result: AuditResult,
        detail: &str,
    ) -> AuditEntry {
        audit_entry(self.audit_source, action, result)
            .target(record.id.to_string())
            .detail(format!(
                "{} (backup {}, requested by {})",
                detail, record.backup_id, record.requested_by.username
            ))
    }
}

fn live_folder(live: &Path) -> &Path {
    match live.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn injected_failure(step: &str) -> Result<(), StepError> {
    if cfg!(debug_assertions) && std::env::var(FAIL_AFTER_ENV).is_ok_and(|v| v == step) {
        return Err(StepError::Injected(step.to_owned()));
    }
    Ok(())
}
