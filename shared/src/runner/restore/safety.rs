//! What a restore works from: the verified copy of a backup in the scratch
//! folder, the `before_restore` safety backup, and putting that safety
//! backup back when the live database was changed and a later step failed.

use chrono::Utc;

use super::{LOCK_WAIT, RestoreRunner, StepError, Stop, failed, live_folder};
use crate::catalog::{
    AuditResult, BackupRecord, LIVE_DATABASE, NewBackup, OffsiteState, RestorePhase, RestoreRecord,
};
use crate::domain::BackupType;
use crate::engine::EngineError;
use crate::engine::restore::{
    DecompressedCopy, RestoreError, apply, check_live, decompress_into, ensure_room,
    with_side_files,
};
use crate::runner::{BackupRunner, LogLines, Outcome};
use crate::{fsutil, offsite};

impl RestoreRunner<'_> {
    /// Decompresses `backup` into `<backup_root>/.tmp/`, checking its
    /// checksums and size (its `integrity_check` runs during the apply), after a
    /// free-space check there and beside the live database (whose WAL or
    /// journal takes about the database's size while it is rewritten).
    pub(super) fn verify(
        &self,
        record: &RestoreRecord,
        backup: &BackupRecord,
        suffix: &str,
    ) -> Result<DecompressedCopy, StepError> {
        let scratch = self.settings.backup_root.join(".tmp");
        fsutil::create_private_dir(&scratch)
            .map_err(|e| EngineError::io("cannot create the scratch folder", &scratch, e))?;
        let size = backup.original_size.unwrap_or(0);
        ensure_room(&scratch, size, self.settings.reserve_bytes)?;
        let live = self.settings.db_path.as_path();
        let current = std::fs::metadata(live).map_or(0, |m| m.len());
        ensure_room(live_folder(live), size + size.saturating_sub(current), 0)?;

        let copy = scratch.join(format!("restore-{}{suffix}.db", record.id));
        for leftover in with_side_files(&copy) {
            let _ = fsutil::remove_if_exists(&leftover);
        }
        let file = self.settings.backup_root.join(&backup.file_path);
        let expected = backup
            .expected()
            .ok_or_else(|| RestoreError::BackupCorrupt {
                detail: format!("backup {} has no checksum on record", backup.id),
            })?;
        match decompress_into(&file, &expected, &copy) {
            Err(
                local @ (RestoreError::BackupMissing { .. }
                | RestoreError::ChecksumMismatch { .. }
                | RestoreError::BackupCorrupt { .. }),
            ) if self.settings.offsite.enabled() => {
                self.verify_offsite(record, backup, &expected, local, &scratch, &copy)
            }
            other => Ok(other?),
        }
    }

    /// The local file is missing or bad: fetches the backup's offsite copy
    /// (checked against the recorded checksums, decrypted when encrypted)
    /// and verifies that instead.
    fn verify_offsite(
        &self,
        record: &RestoreRecord,
        backup: &BackupRecord,
        expected: &crate::engine::reading::Expected,
        local: RestoreError,
        scratch: &std::path::Path,
        copy: &std::path::Path,
    ) -> Result<DecompressedCopy, StepError> {
        let fail = |local: RestoreError, offsite| StepError::OffsiteFailed {
            local: Box::new(local),
            offsite: Box::new(offsite),
        };
        let stored = match self.catalog.get_offsite_copy(&backup.id) {
            Ok(Some(c)) if c.state == OffsiteState::Stored => c,
            Ok(_) => return Err(local.into()),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the offsite copy's record");
                return Err(local.into());
            }
        };
        tracing::warn!(error = %local, object = %stored.object_key, "the local backup file cannot be used: fetching its offsite copy");
        let bucket = match offsite::Bucket::open(&self.settings.offsite) {
            Ok(b) => b,
            Err(e) => return Err(fail(local, e)),
        };
        let dest = scratch.join(format!("restore-{}.offsite.db.gz", record.id));
        let _ = fsutil::remove_if_exists(&dest);
        let fetched = match offsite::block_on(bucket.fetch(&stored, &dest)).and_then(|r| r) {
            Ok(f) => f,
            Err(e) => {
                self.audit(
                    record,
                    "restore.offsite_fetch",
                    AuditResult::Failure,
                    format!("{}: {e}", e.code()),
                );
                return Err(fail(local, e));
            }
        };
        self.audit(
            record,
            "restore.offsite_fetch",
            AuditResult::Success,
            format!(
                "local file unusable ({}); {} fetched, checksum {} matches",
                local.code(),
                bucket.location(&stored.object_key),
                stored.checksum
            ),
        );
        Ok(decompress_into(fetched.path(), expected, copy)?)
    }

    /// Records and runs the `before_restore` backup through the ordinary
    /// backup runner, letting it through the lock this restore holds.
    pub(super) fn safety_backup(&self, record: &RestoreRecord) -> Result<BackupRecord, Stop> {
        let new = NewBackup {
            backup_type: BackupType::BeforeRestore,
            description: Some(format!(
                "Before restore {} of {}",
                record.id, record.backup_id
            )),
            created_by: record.requested_by.clone(),
            started_at: Utc::now(),
        };
        let created =
            self.catalog
                .create_backup(&new, self.settings.tz(), &self.settings.backup_root)?;
        let id = created.id;
        self.catalog
            .set_restore_safety_backup(&record.id, &self.owner, &id)?;
        self.catalog
            .let_through_lock(LIVE_DATABASE, &self.owner, Some(&id))?;
        let outcome = BackupRunner {
            catalog: self.catalog,
            settings: self.settings,
            owner: format!("{}/safety", self.owner),
            audit_source: self.audit_source,
        }
        .run(&id, &mut LogLines)?;
        self.catalog
            .let_through_lock(LIVE_DATABASE, &self.owner, None)?;
        let why = match outcome {
            Outcome::Succeeded(done) => {
                let detail = format!("{id}: {} ({} bytes)", done.checksum, done.file_size);
                self.audit(
                    record,
                    "restore.safety_backup",
                    AuditResult::Success,
                    detail,
                );
                return Ok(self.catalog.get_backup(&id)?);
            }
            Outcome::Failed(failure) => {
                format!("{}: {}", failure.error.code, failure.error.message)
            }
            other => format!("{other:?}"),
        };
        let message =
            format!("the safety backup {id} failed ({why}); the live database was not changed");
        tracing::error!(restore_id = %record.id, "{message}");
        self.audit(record, "restore.safety_backup", AuditResult::Failure, why);
        Err(failed("safety_backup_failed", message))
    }

    /// Puts the safety backup back after `step` failed with `cause` once the
    /// live database had been changed.
    pub(super) fn roll_back(
        &self,
        record: &RestoreRecord,
        safety: &BackupRecord,
        step: &str,
        cause: &StepError,
    ) -> Stop {
        tracing::error!(restore_id = %record.id, code = cause.code(), error = %cause, "{step} failed after the live database was changed: putting the safety backup back");
        if let Err(e) =
            self.catalog
                .set_restore_phase(&record.id, &self.owner, RestorePhase::Rollback)
        {
            tracing::warn!(error = %e, "cannot record the rollback phase");
        }
        let live = self.settings.db_path.as_path();
        let put_back = self
            .verify(record, safety, "-rollback")
            .and_then(|copy| Ok(apply(&copy, live, LOCK_WAIT).map_err(|f| f.error)?))
            .and_then(|_| Ok(check_live(live)?));
        match put_back {
            Ok(()) => {
                self.audit(
                    record,
                    "restore.rollback",
                    AuditResult::Success,
                    safety.id.to_string(),
                );
                failed(
                    "restore_rolled_back",
                    format!(
                        "{step} failed ({}: {cause}); the live database was put back from the \
                         safety backup {}",
                        cause.code(),
                        safety.id
                    ),
                )
            }
            Err(e) => {
                // The live database may hold the restored content that
                // failed its check: `rollback_failed` is the code of the
                // restore's failure alert, and operators must act at once.
                tracing::error!(restore_id = %record.id, code = e.code(), error = %e, "putting the safety backup back failed too");
                let detail = format!("{}: {}: {e}", safety.id, e.code());
                self.audit(record, "restore.rollback", AuditResult::Failure, detail);
                failed(
                    "rollback_failed",
                    format!(
                        "{step} failed ({}: {cause}); putting the safety backup {} back failed \
                         too ({}: {e}). Restore {} by hand",
                        cause.code(),
                        safety.id,
                        e.code(),
                        safety.id
                    ),
                )
            }
        }
    }
}
