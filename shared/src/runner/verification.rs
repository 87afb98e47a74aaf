//! One verification of a backup (SPEC §4), wherever it runs: the worker's
//! jobs (one recorded verification, or all of them) and the CLI's
//! `verify` call this. The verification is held with a lease renewed while
//! the engine runs the five checks; the result is recorded, audited with
//! who asked, logged (at ERROR with the failed checks on a failure), and a
//! failure comes back with its alert. A failed check never touches the
//! backup file.

use std::time::Duration;

use super::{LeaseKeeper, Outcome, audit, audit_entry};
use crate::alert::Alert;
use crate::catalog::{AuditResult, AuditSource, Begun, Catalog, CatalogError, Claim, Verification};
use crate::domain::{BackupId, CheckId, CheckStatus, CreatedBy};
use crate::engine::verify::{self, Scratch, VerifyReport};
use crate::settings::Settings;

/// A decompressed copy this old is a leftover of a killed verification.
const STALE_COPY_AGE: Duration = Duration::from_secs(24 * 3600);

/// A verification that ran to its end, passed or failed.
#[derive(Debug)]
pub struct Verified {
    pub verification: Verification,
    pub report: VerifyReport,
    /// The alert to deliver when it failed.
    pub alert: Option<Alert>,
}

pub struct VerificationRunner<'a> {
    pub catalog: &'a Catalog,
    pub settings: &'a Settings,
    /// Unique to this run, e.g. `<worker name>/<ulid>`.
    pub owner: String,
    pub audit_source: AuditSource,
}

impl VerificationRunner<'_> {
    /// Starts a verification of `backup_id` for `requester`, held by this
    /// process (run it with [`VerificationRunner::execute`]), unless one
    /// is running already. `NotFound` if there is no such backup.
    pub fn begin(
        &self,
        backup_id: &BackupId,
        requester: &CreatedBy,
    ) -> Result<Begun, CatalogError> {
        self.catalog.begin_verification(
            backup_id,
            requester,
            Some((&self.owner, self.settings.lease_ttl())),
        )
    }

    /// Runs the recorded verification `check_id` (the API's, through a job).
    pub fn run(&self, check_id: &CheckId) -> Result<Outcome<Verified>, CatalogError> {
        match self
            .catalog
            .claim_verification(check_id, &self.owner, self.settings.lease_ttl())
        {
            Ok(Claim::Claimed(v)) => self.execute(v),
            Ok(Claim::Finished(status)) => Ok(Outcome::AlreadyFinished(status.to_string())),
            Ok(Claim::HeldElsewhere { owner }) => Ok(Outcome::HeldElsewhere { owner }),
            Err(CatalogError::NotFound) => {
                Ok(Outcome::AlreadyFinished("gone with its backup".into()))
            }
            Err(e) => Err(e),
        }
    }

    /// Runs a verification this process holds to its end and records it.
    /// `HandedOver` when someone else closed it meanwhile.
    pub fn execute(&self, v: Verification) -> Result<Outcome<Verified>, CatalogError> {
        let ttl = self.settings.lease_ttl();
        let keeper = LeaseKeeper::start("verification", ttl, {
            let (catalog, id, owner) =
                (self.catalog.clone(), v.check_id.clone(), self.owner.clone());
            move || catalog.renew_verification(&id, &owner, ttl)
        });
        let report = self.check(&v.backup_id);
        drop(keeper);
        if !self.catalog.finish_verification(&v.check_id, &report)? {
            tracing::warn!(check_id = %v.check_id, "the verification was closed elsewhere; result dropped");
            return Ok(Outcome::HandedOver(format!(
                "verification {} was closed elsewhere",
                v.check_id
            )));
        }
        let alert = self.record_outcome(&v, &report);
        Ok(Outcome::Succeeded(Verified {
            verification: v,
            report,
            alert,
        }))
    }

    /// The engine's report on the backup's file, against its record.
    fn check(&self, id: &BackupId) -> VerifyReport {
        let record = match self.catalog.get_backup(id) {
            Ok(r) => r,
            Err(e) => return VerifyReport::not_run(&format!("cannot read the backup record: {e}")),
        };
        let Some(expected) = record.expected().filter(|e| e.file_size.is_some()) else {
            return VerifyReport::not_run("the record has no file size or checksum");
        };
        let root = &self.settings.backup_root;
        let scratch_dir = root.join(".tmp");
        if let Err(e) = verify::remove_stale_copies(&scratch_dir, STALE_COPY_AGE) {
            tracing::warn!(error = %e, "cannot clear old decompressed copies");
        }
        let scratch = Scratch {
            dir: &scratch_dir,
            reserve_bytes: self.settings.reserve_bytes,
        };
        verify::verify_backup(&root.join(&record.file_path), &expected, &scratch)
    }

    /// Audits and logs the result; the alert to deliver when it failed.
    fn record_outcome(&self, v: &Verification, report: &VerifyReport) -> Option<Alert> {
        let requested = format!("requested by {}", v.requested_by.username);
        let result = if report.passed {
            AuditResult::Success
        } else {
            AuditResult::Failure
        };
        let entry =
            audit_entry(self.audit_source, "backup.verify", result).target(v.backup_id.to_string());
        if report.passed {
            tracing::info!(backup_id = %v.backup_id, check_id = %v.check_id,
                duration_ms = report.duration.as_millis() as u64, "Backup verification passed");
            audit(
                self.catalog,
                entry.detail(format!("{}: pass ({requested})", v.check_id)),
            );
            return None;
        }
        let failed = failed_checks(report);
        let names: Vec<&str> = report.failed().iter().map(|n| n.as_str()).collect();
        tracing::error!(backup_id = %v.backup_id, check_id = %v.check_id,
            failed_checks = %names.join(", "), "Backup verification FAILED");
        audit(
            self.catalog,
            entry.detail(format!(
                "{}: fail: {} ({requested})",
                v.check_id,
                failed.join("; ")
            )),
        );
        Some(Alert::VerificationFailed {
            backup_id: v.backup_id.to_string(),
            check_id: v.check_id.to_string(),
            failed_checks: failed,
            at: chrono::Utc::now(),
        })
    }
}

/// Each failed check with its detail; when nothing could run, why.
fn failed_checks(report: &VerifyReport) -> Vec<String> {
    let mut failed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .map(|c| format!("{} ({})", c.name, c.detail))
        .collect();
    if failed.is_empty() {
        // Nothing could run: every check says why.
        failed.extend(report.checks.first().map(|c| c.detail.clone()));
    }
    failed
}
