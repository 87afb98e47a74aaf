//! The backup job: runs the recorded backup to its end with the shared
//! [`Runner`] on a blocking thread (SPEC §3). If another runner holds the
//! backup (a job re-enqueued while its first runner still works), it waits
//! until that runner finishes or its lease expires.

use nexus_shared::alert::Alert;
use nexus_shared::catalog::AuditSource;
use nexus_shared::domain::BackupId;
use nexus_shared::runner::{LogLines, RunOutcome, Runner};

use crate::JobContext;

pub async fn run(ctx: &JobContext, id: BackupId) -> anyhow::Result<String> {
    let owner = format!("{}/{}", ctx.worker_name, ulid::Ulid::generate());
    loop {
        let span = tracing::Span::current();
        let outcome = tokio::task::spawn_blocking({
            let (ctx, id, owner) = (ctx.clone(), id.clone(), owner.clone());
            move || {
                let _entered = span.enter();
                tracing::info!("Starting backup (type: {})", id.backup_type());
                Runner {
                    catalog: &ctx.catalog,
                    settings: &ctx.settings,
                    owner,
                    audit_source: AuditSource::Worker,
                }
                .run(&id, &mut LogLines)
            }
        })
        .await??;
        return Ok(match outcome {
            RunOutcome::Succeeded(done) => {
                tracing::info!("Backup completed successfully");
                tracing::info!("File: {}", done.path.display());
                tracing::info!("Checksum: {}", done.checksum);
                if ctx.settings.offsite.enabled() {
                    enqueue_offsite(ctx, &id).await;
                }
                format!("{id}: success")
            }
            RunOutcome::Failed(e) => {
                tracing::error!(code = %e.code, error = %e.message, "Backup failed");
                super::alert::raise(ctx, Alert::backup_failed(&id, &e)).await;
                format!("{id}: failure ({})", e.code)
            }
            RunOutcome::AlreadyFinished(status) => format!("{id}: already {status}"),
            RunOutcome::HandedOver(reason) => {
                tracing::warn!(%reason, "backup handed over to another runner");
                format!("{id}: handed over ({reason})")
            }
            RunOutcome::HeldElsewhere { owner } => {
                tracing::info!(holder = %owner, "backup is being taken by another runner; waiting");
                tokio::time::sleep(ctx.settings.lease_ttl() / 3).await;
                continue;
            }
        });
    }
}

/// Queues the offsite copy of a new backup. A failure to queue it is
/// logged; the local backup stands either way, and the copy can be asked
/// for again (`POST /api/v1/backups/{id}/offsite`).
async fn enqueue_offsite(ctx: &JobContext, id: &BackupId) {
    let job = nexus_shared::queue::Job::Offsite {
        backup_id: id.clone(),
    };
    let key = format!("offsite:{id}");
    if let Err(e) = ctx.queue.push(job, Some(&key)).await {
        tracing::error!(error = %e, "cannot queue the offsite copy");
    }
}
