//! The restore job (SPEC §6): runs the recorded restore with the shared
//! [`RestoreRunner`] on a blocking thread. The runner does every step,
//! records and audits the outcome and logs a failure at ERROR; this job
//! then raises the `restore_failed` mail alert. If another runner holds the
//! restore (a job handed over while its first runner still works), this
//! waits until that runner finishes or its lease expires.

use nexus_shared::alert::Alert;
use nexus_shared::catalog::{AuditSource, RestoreId};
use nexus_shared::engine::restore::live::{RestoreOutcome, RestoreRunner};

use crate::JobContext;

pub async fn run(ctx: &JobContext, id: RestoreId) -> anyhow::Result<String> {
    let owner = format!("{}/{}", ctx.worker_name, ulid::Ulid::generate());
    loop {
        let span = tracing::Span::current();
        let outcome = tokio::task::spawn_blocking({
            let (ctx, id, owner) = (ctx.clone(), id.clone(), owner.clone());
            move || {
                let _entered = span.enter();
                RestoreRunner {
                    catalog: &ctx.catalog,
                    settings: &ctx.settings,
                    owner,
                    audit_source: AuditSource::Worker,
                }
                .run(&id)
            }
        })
        .await??;
        return Ok(match outcome {
            RestoreOutcome::Succeeded { safety_backup_id } => {
                format!("{id}: success (safety backup {safety_backup_id})")
            }
            RestoreOutcome::Failed { backup_id, error } => {
                // The runner logged it at ERROR and audited it; mail it too.
                let code = error.code.clone();
                super::alert::raise(
                    ctx,
                    Alert::RestoreFailed {
                        restore_id: id.to_string(),
                        backup_id: backup_id.to_string(),
                        code: error.code,
                        message: error.message,
                        at: chrono::Utc::now(),
                    },
                )
                .await;
                format!("{id}: failure ({code})")
            }
            RestoreOutcome::AlreadyFinished(status) => format!("{id}: already {status}"),
            RestoreOutcome::HandedOver(reason) => {
                tracing::warn!(%reason, "restore handed over to another runner");
                format!("{id}: handed over ({reason})")
            }
            RestoreOutcome::HeldElsewhere { owner } => {
                tracing::info!(holder = %owner, "restore is being run by another runner; waiting");
                tokio::time::sleep(ctx.settings.lease_ttl() / 3).await;
                continue;
            }
        });
    }
}
