//! Runs one recorded backup to its end: claims it with a lease, runs the
//! engine while recording progress in the catalog, retries transient
//! failures with backoff, and records and audits the outcome.
//!
//! The worker's backup job runs this on a blocking thread; the CLI runs it
//! in-process when no worker is alive. Both go through the same lease, so a
//! backup never runs twice at once.

use std::time::{Duration, Instant};

use super::{Failure, LeaseKeeper, Outcome, audit_entry};
use crate::alert::Alert;
use crate::catalog::{
    AuditEntry, AuditResult, AuditSource, BackupRecord, Catalog, CatalogError, Claim, Completed,
};
use crate::domain::{BackupId, ErrorInfo, Phase};
use crate::engine::{self, BackupOutcome, BackupPlan, EngineError, Event, Observer};
use crate::fsutil::human_size;
use crate::settings::Settings;

/// How often a backup waiting for a restore looks again.
const LIVE_DATABASE_POLL: Duration = Duration::from_millis(250);

pub struct BackupRunner<'a> {
    pub catalog: &'a Catalog,
    pub settings: &'a Settings,
    /// Unique to this run, e.g. `<worker name>/<ulid>`.
    pub owner: String,
    pub audit_source: AuditSource,
}

impl BackupRunner<'_> {
    /// Runs the backup `id`, telling `observer` each engine event too.
    pub fn run(
        &self,
        id: &BackupId,
        observer: &mut dyn Observer,
    ) -> Result<Outcome<BackupOutcome>, CatalogError> {
        let ttl = self.settings.lease_ttl();
        match self.catalog.claim_backup(id, &self.owner, ttl)? {
            Claim::Claimed(()) => {}
            Claim::Finished(status) => return Ok(Outcome::AlreadyFinished(status.to_string())),
            Claim::HeldElsewhere { owner } => return Ok(Outcome::HeldElsewhere { owner }),
        }
        let record = self.catalog.get_backup(id)?;
        let keeper = LeaseKeeper::start("backup", ttl, {
            let (catalog, id, owner) = (self.catalog.clone(), id.clone(), self.owner.clone());
            move || catalog.renew_backup(&id, &owner, ttl)
        });
        // Restore lock (runner::restore): while a restore rewrites the
        // live database it holds the catalog lock `live_database`; a backup
        // waits here, before its snapshot, until it is released (the
        // restore's own safety backup is let through). The lease is renewed
        // meanwhile; losing it ends the wait.
        if !self.wait_for_live_database(id, &keeper)? {
            return Ok(Outcome::HandedOver(
                "the lease was taken over while waiting for a restore".into(),
            ));
        }
        let result = self.run_with_retries(&record, observer, &keeper);
        drop(keeper);
        match result {
            Ok(outcome) => self.record_success(id, outcome),
            Err(EngineError::Aborted(reason)) => Ok(Outcome::HandedOver(reason)),
            Err(e) => self.record_failure(id, e),
        }
    }

    /// Waits while a restore holds the live database (unless it lets this
    /// backup through). False if the lease was lost meanwhile.
    fn wait_for_live_database(
        &self,
        id: &BackupId,
        keeper: &LeaseKeeper,
    ) -> Result<bool, CatalogError> {
        let mut told = false;
        while let Some(restore) = self.catalog.pass_live_database(id)? {
            if !told {
                tracing::info!(backup_id = %id, %restore, "a restore is rewriting the database: waiting for it to finish");
                told = true;
            }
            if keeper.lost() {
                return Ok(false);
            }
            std::thread::sleep(LIVE_DATABASE_POLL);
        }
        Ok(true)
    }

    fn run_with_retries(
        &self,
        record: &BackupRecord,
        observer: &mut dyn Observer,
        keeper: &LeaseKeeper,
    ) -> Result<BackupOutcome, EngineError> {
        let q = &self.settings.queue;
        let plan = BackupPlan {
            source: &self.settings.db_path,
            backup_root: &self.settings.backup_root,
            id: &record.id,
            reserve_bytes: self.settings.reserve_bytes,
            description: record.description.as_deref(),
            created_by: &record.created_by,
            started_at: record.started_at,
            compression: self.settings.compression,
        };
        let mut delay = Duration::from_millis(q.retry_base_ms);
        let mut retry = 0;
        loop {
            let mut progress = CatalogProgress {
                catalog: self.catalog,
                id: &record.id,
                owner: &self.owner,
                ttl: self.settings.lease_ttl(),
                keeper,
                inner: &mut *observer,
                percent: 0,
                written_at: Instant::now(),
            };
            match engine::create_backup(&plan, &mut progress) {
                Err(e) if e.is_transient() && retry < q.transient_retries => {
                    retry += 1;
                    tracing::warn!(error = %e, retry, delay_ms = delay.as_millis() as u64, "transient failure; retrying");
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(60));
                }
                other => return other,
            }
        }
    }

    fn record_success(
        &self,
        id: &BackupId,
        outcome: BackupOutcome,
    ) -> Result<Outcome<BackupOutcome>, CatalogError> {
        let done = Completed {
            file_size: outcome.file_size,
            original_size: outcome.original_size,
            checksum: outcome.checksum.clone(),
            raw_checksum: outcome.raw_checksum.clone(),
        };
        let entry = self.audit_entry(
            id,
            AuditResult::Success,
            format!("{} ({})", outcome.checksum, human_size(outcome.file_size)),
        );
        if !self
            .catalog
            .mark_success_audited(id, &self.owner, &done, Some(&entry))?
        {
            return Ok(Outcome::HandedOver(
                "the lease was taken over before the result was recorded".into(),
            ));
        }
        Ok(Outcome::Succeeded(outcome))
    }

    fn record_failure(
        &self,
        id: &BackupId,
        e: EngineError,
    ) -> Result<Outcome<BackupOutcome>, CatalogError> {
        let mut error = ErrorInfo {
            code: e.code().to_owned(),
            message: e.to_string(),
            details: e.details(),
        };
        if let EngineError::DatabaseCorrupt { .. } = e {
            self.name_the_backup_to_restore(&mut error);
        }
        let entry = self.audit_entry(
            id,
            AuditResult::Failure,
            format!("{}: {}", error.code, error.message),
        );
        self.catalog
            .mark_failure_audited(id, Some(&self.owner), &error, Some(&entry))?;
        let alert = Alert::backup_failed(id, &error);
        Ok(Outcome::Failed(Failure { error, alert }))
    }

    /// The live database is damaged: the failure says which backup passed
    /// verification last, so the operator knows what to restore from.
    fn name_the_backup_to_restore(&self, error: &mut ErrorInfo) {
        let newest = match self.catalog.newest_verified_backup() {
            Ok(newest) => newest,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look up the newest verified backup");
                return;
            }
        };
        let advice = match &newest {
            Some(v) => format!(
                "Restore it from the newest backup that passed verification: {} (verified {}): nexus-backup restore {} --yes",
                v.backup_id,
                v.checked_at
                    .map_or_else(|| "-".to_owned(), |t| t.with_timezone(&self.settings.tz()).to_rfc3339()),
                v.backup_id
            ),
            None => "No backup has passed verification yet: verify the newest backups (nexus-backup verify --all) before restoring one.".to_owned(),
        };
        error.message = format!("{}. {advice}", error.message);
        if let Some(serde_json::Value::Object(details)) = &mut error.details {
            details.insert(
                "restore_from".into(),
                newest.map_or(serde_json::Value::Null, |v| v.backup_id.to_string().into()),
            );
        }
    }

    /// The `backup.run` entry, committed with the outcome it records.
    fn audit_entry(&self, id: &BackupId, result: AuditResult, detail: String) -> AuditEntry {
        audit_entry(self.audit_source, "backup.run", result)
            .target(id.to_string())
            .detail(detail)
    }
}

/// Records phase and percent in the catalog as the engine goes (at most a
/// few times a second), passes every event on, and stops the engine if the
/// lease was lost.
struct CatalogProgress<'a> {
    catalog: &'a Catalog,
    id: &'a BackupId,
    owner: &'a str,
    ttl: Duration,
    keeper: &'a LeaseKeeper,
    inner: &'a mut dyn Observer,
    percent: u8,
    written_at: Instant,
}

impl CatalogProgress<'_> {
    fn write(&mut self, phase: Phase, percent: u8) -> Result<(), EngineError> {
        self.percent = percent;
        self.written_at = Instant::now();
        match self
            .catalog
            .report_progress(self.id, self.owner, phase, percent, self.ttl)
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(EngineError::Aborted(
                "the lease on this backup was taken over".into(),
            )),
            // Progress is informative: a busy catalog must not fail the backup.
            Err(e) => {
                tracing::warn!(error = %e, "cannot record progress");
                Ok(())
            }
        }
    }
}

impl Observer for CatalogProgress<'_> {
    fn event(&mut self, event: Event<'_>) -> Result<(), EngineError> {
        if self.keeper.lost() {
            return Err(EngineError::Aborted(
                "the lease on this backup was taken over".into(),
            ));
        }
        match &event {
            Event::PhaseStarted(phase) => self.write(*phase, phase.overall_percent(0.0))?,
            Event::Progress(phase, fraction) => {
                let percent = phase.overall_percent(*fraction);
                if percent != self.percent
                    && self.written_at.elapsed() >= Duration::from_millis(250)
                {
                    self.write(*phase, percent)?;
                }
            }
            _ => {}
        }
        self.inner.event(event)
    }
}
