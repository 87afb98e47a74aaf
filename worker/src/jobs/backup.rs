//! The backup job: claim the backup, run the engine while recording its
//! progress in the catalog, retry transient failures with backoff, and
//! record the outcome (SPEC §3).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nexus_shared::catalog::{
    AuditEntry, AuditResult, AuditSource, BackupRecord, Catalog, Completed, ErrorInfo, LeaseOutcome,
};
use nexus_shared::domain::{BackupId, Phase};
use nexus_shared::engine::{self, BackupOutcome, BackupPlan, EngineError, Event, Observer};
use nexus_shared::fsutil::human_size;

use crate::JobContext;

pub async fn run(ctx: &JobContext, id: BackupId) -> anyhow::Result<String> {
    let owner = format!("{}/{}", ctx.worker_name, ulid::Ulid::generate());
    let ttl = ctx.lease_ttl();
    if let Some(finished) = claim(ctx, &id, &owner, ttl).await? {
        return Ok(finished);
    }
    let record = ctx
        .blocking({
            let id = id.clone();
            move |c| c.get_backup(&id)
        })
        .await?;
    tracing::info!(backup_type = %id.backup_type(), "Starting backup (type: {})", id.backup_type());

    let lost = Arc::new(AtomicBool::new(false));
    let keeper = tokio::spawn(keep_lease(
        ctx.clone(),
        id.clone(),
        owner.clone(),
        ttl,
        lost.clone(),
    ));
    let result = run_with_retries(ctx, &record, &owner, &lost).await;
    keeper.abort();

    match result {
        Ok(outcome) => record_success(ctx, &id, &owner, outcome).await,
        Err(EngineError::Aborted(reason)) => {
            tracing::warn!(%reason, "backup handed over to another runner");
            Ok(format!("{id}: stopped ({reason})"))
        }
        Err(e) => record_failure(ctx, &id, &owner, e).await,
    }
}

/// Takes the lease on the backup. Waits while another live runner holds it
/// (a job re-enqueued while its first runner still works); returns a
/// summary instead when there is nothing left to do.
async fn claim(
    ctx: &JobContext,
    id: &BackupId,
    owner: &str,
    ttl: Duration,
) -> anyhow::Result<Option<String>> {
    loop {
        let outcome = ctx
            .blocking({
                let (id, owner) = (id.clone(), owner.to_owned());
                move |c| c.acquire_lease(&id, &owner, ttl)
            })
            .await?;
        match outcome {
            LeaseOutcome::Acquired => return Ok(None),
            LeaseOutcome::AlreadyFinished(status) => {
                tracing::info!(%status, "backup already finished; nothing to do");
                return Ok(Some(format!("{id}: already {status}")));
            }
            LeaseOutcome::HeldElsewhere { owner } => {
                tracing::info!(holder = %owner, "backup is being taken by another runner; waiting");
                tokio::time::sleep(ttl / 3).await;
            }
        }
    }
}

/// Renews the lease through phases that report no progress (the integrity
/// check of a large database), and raises `lost` if it was taken over.
async fn keep_lease(
    ctx: JobContext,
    id: BackupId,
    owner: String,
    ttl: Duration,
    lost: Arc<AtomicBool>,
) {
    loop {
        tokio::time::sleep(ttl / 3).await;
        let renewed = ctx
            .blocking({
                let (id, owner) = (id.clone(), owner.clone());
                move |c| c.renew_lease(&id, &owner, ttl)
            })
            .await;
        match renewed {
            Ok(true) => {}
            Ok(false) => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
            Err(e) => tracing::warn!(error = %e, "cannot renew the backup lease"),
        }
    }
}

async fn run_with_retries(
    ctx: &JobContext,
    record: &BackupRecord,
    owner: &str,
    lost: &Arc<AtomicBool>,
) -> Result<BackupOutcome, EngineError> {
    let q = &ctx.settings.queue;
    let mut delay = Duration::from_millis(q.retry_base_ms);
    let mut retry = 0;
    loop {
        let result = tokio::task::spawn_blocking({
            let (ctx, record, owner, lost) =
                (ctx.clone(), record.clone(), owner.to_owned(), lost.clone());
            move || {
                let plan = BackupPlan {
                    source: &ctx.settings.db_path,
                    backup_root: &ctx.settings.backup_root,
                    id: &record.id,
                    reserve_bytes: ctx.settings.reserve_bytes,
                    description: record.description.as_deref(),
                    created_by: &record.created_by,
                    started_at: record.started_at,
                };
                let mut observer =
                    CatalogProgress::new(&ctx.catalog, &record.id, &owner, ctx.lease_ttl(), &lost);
                engine::create_backup(&plan, &mut observer)
            }
        })
        .await
        .unwrap_or_else(|e| {
            Err(EngineError::Aborted(format!(
                "the backup thread failed: {e}"
            )))
        });
        match result {
            Err(e) if e.is_transient() && retry < q.transient_retries => {
                retry += 1;
                tracing::warn!(error = %e, retry, delay_ms = delay.as_millis() as u64, "transient failure; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(60));
            }
            other => return other,
        }
    }
}

async fn record_success(
    ctx: &JobContext,
    id: &BackupId,
    owner: &str,
    outcome: BackupOutcome,
) -> anyhow::Result<String> {
    tracing::info!(
        "Compression complete ({} -> {})",
        human_size(outcome.original_size),
        human_size(outcome.file_size)
    );
    let done = Completed {
        file_size: outcome.file_size,
        original_size: outcome.original_size,
        checksum: outcome.checksum.clone(),
        raw_checksum: outcome.raw_checksum.clone(),
    };
    let recorded = ctx
        .blocking({
            let (id, owner) = (id.clone(), owner.to_owned());
            move |c| c.mark_success(&id, &owner, &done)
        })
        .await?;
    if !recorded {
        tracing::warn!(
            "the lease was taken over before the result was recorded; the new runner records it"
        );
        return Ok(format!("{id}: finished, recorded by another runner"));
    }
    audit(
        ctx,
        id,
        AuditResult::Success,
        format!("{} ({})", outcome.checksum, human_size(outcome.file_size)),
    )
    .await;
    tracing::info!("Backup completed successfully");
    tracing::info!("File: {}", outcome.path.display());
    tracing::info!("Checksum: {}", outcome.checksum);
    Ok(format!("{id}: success"))
}

async fn record_failure(
    ctx: &JobContext,
    id: &BackupId,
    owner: &str,
    e: EngineError,
) -> anyhow::Result<String> {
    tracing::error!(code = e.code(), error = %e, "Backup failed");
    let error = ErrorInfo {
        code: e.code().to_owned(),
        message: e.to_string(),
    };
    ctx.blocking({
        let (id, owner, error) = (id.clone(), owner.to_owned(), error.clone());
        move |c| c.mark_failure(&id, Some(&owner), &error)
    })
    .await?;
    audit(
        ctx,
        id,
        AuditResult::Failure,
        format!("{}: {}", error.code, error.message),
    )
    .await;
    Ok(format!("{id}: failure ({})", error.code))
}

async fn audit(ctx: &JobContext, id: &BackupId, result: AuditResult, detail: String) {
    let entry = AuditEntry::system(AuditSource::Worker, "backup.run", result)
        .target(id.to_string())
        .detail(detail);
    if let Err(e) = ctx.blocking(move |c| c.append_audit(&entry)).await {
        tracing::error!(error = %e, "cannot write the audit log");
    }
}

/// Records phase and percent in the catalog as the engine goes, at most a
/// few times a second, and stops the engine if the lease was lost.
struct CatalogProgress<'a> {
    catalog: &'a Catalog,
    id: &'a BackupId,
    owner: &'a str,
    ttl: Duration,
    lost: &'a AtomicBool,
    phase: Phase,
    percent: u8,
    written_at: Instant,
}

impl<'a> CatalogProgress<'a> {
    fn new(
        catalog: &'a Catalog,
        id: &'a BackupId,
        owner: &'a str,
        ttl: Duration,
        lost: &'a AtomicBool,
    ) -> Self {
        CatalogProgress {
            catalog,
            id,
            owner,
            ttl,
            lost,
            phase: Phase::Queued,
            percent: 0,
            written_at: Instant::now(),
        }
    }

    fn write(&mut self, phase: Phase, percent: u8) -> Result<(), EngineError> {
        self.phase = phase;
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
        if self.lost.load(Ordering::SeqCst) {
            return Err(EngineError::Aborted(
                "the lease on this backup was taken over".into(),
            ));
        }
        match event {
            Event::PhaseStarted(phase) => {
                match phase {
                    Phase::Snapshot => tracing::info!("Creating backup..."),
                    Phase::IntegrityCheck => tracing::info!("Running integrity check..."),
                    Phase::Compress => tracing::info!("Compressing backup..."),
                    _ => {}
                }
                self.write(phase, phase.overall_percent(0.0))
            }
            Event::Progress(phase, fraction) => {
                let percent = phase.overall_percent(fraction);
                if percent != self.percent
                    && self.written_at.elapsed() >= Duration::from_millis(250)
                {
                    self.write(phase, percent)?;
                }
                Ok(())
            }
            Event::Preflight(p) => {
                tracing::info!("Database size: {}", human_size(p.database_bytes));
                tracing::info!("Available disk space: {}", human_size(p.available_bytes));
                Ok(())
            }
            Event::SnapshotTaken { path, bytes } => {
                tracing::info!(
                    "Snapshot created: {} ({})",
                    path.display(),
                    human_size(bytes)
                );
                Ok(())
            }
            Event::IntegrityOk => {
                tracing::info!("Integrity check: OK");
                Ok(())
            }
            Event::Compressed { .. } => Ok(()),
        }
    }
}
