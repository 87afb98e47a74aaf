//! The backup job: runs the recorded backup to its end with the shared
//! [`BackupRunner`] (SPEC §3), mails the alert of a failure and queues the
//! offsite copy of a success.

use nexus_shared::catalog::AuditSource;
use nexus_shared::domain::BackupId;
use nexus_shared::runner::{BackupRunner, LogLines, Outcome};

use super::{Priority, drive};
use crate::JobContext;

pub async fn run(ctx: &JobContext, id: BackupId) -> anyhow::Result<String> {
    let owner = format!("{}/{}", ctx.worker_name, ulid::Ulid::generate());
    let outcome = drive(ctx, Priority::Background("backup"), {
        let id = id.clone();
        move |ctx| {
            tracing::info!("Starting backup (type: {})", id.backup_type());
            BackupRunner {
                catalog: &ctx.catalog,
                settings: &ctx.settings,
                owner: owner.clone(),
                audit_source: AuditSource::Worker,
            }
            .run(&id, &mut LogLines)
        }
    })
    .await?;
    Ok(match outcome {
        Outcome::Succeeded(done) => {
            tracing::info!("Backup completed successfully");
            tracing::info!("File: {}", done.path.display());
            tracing::info!("Checksum: {}", done.checksum);
            if ctx.settings.offsite.enabled() {
                enqueue_offsite(ctx, &id).await;
            }
            format!("{id}: success")
        }
        Outcome::Failed(f) => {
            tracing::error!(code = %f.error.code, error = %f.error.message, "Backup failed");
            format!("{id}: failure ({})", f.error.code)
        }
        other => super::summary(&id, &other),
    })
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
