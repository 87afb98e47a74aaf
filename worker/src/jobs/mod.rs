//! Job handlers. Each is a small async function over the typed job; the
//! engine does the work. A job whose work failed records that failure and
//! returns `Ok`; only a failure to record anything (catalog unreachable)
//! returns `Err`, so that the queue tries the job again later.

pub mod alert;
pub mod backup;
pub mod disk_check;
pub mod offsite;
pub mod prune;
pub mod reconcile;
pub mod restore;
pub mod verify;

use std::fmt::Display;

use apalis::prelude::{Attempt, BoxDynError, Data};
use nexus_shared::catalog::CatalogError;
use nexus_shared::queue::Job;
use nexus_shared::runner::Outcome;
use tracing::Instrument as _;

use crate::JobContext;

/// How a runner's work shares the CPU with the API and the application.
#[derive(Debug, Clone, Copy)]
enum Priority {
    /// Work nobody waits for (backups, verifications): on a thread of its
    /// own at `queue.nice`, so it takes the cores the others leave.
    Background(&'static str),
    /// A restore: the operator waits for it, and the application's
    /// writers wait for its apply.
    Full,
}

/// Runs a runner on a blocking thread, in the job's span, until no other
/// runner holds its record (a job re-delivered while its first runner
/// still works waits until that runner finishes or its lease expires),
/// and mails the alert of a failed run.
async fn drive<T: Send + 'static>(
    ctx: &JobContext,
    priority: Priority,
    run: impl Fn(&JobContext) -> Result<Outcome<T>, CatalogError> + Send + Sync + 'static,
) -> anyhow::Result<Outcome<T>> {
    let run = std::sync::Arc::new(run);
    loop {
        let work = {
            let (ctx, run) = (ctx.clone(), run.clone());
            move || run(&ctx)
        };
        let outcome = match priority {
            Priority::Background(name) => {
                nexus_shared::blocking::background(name, ctx.settings.queue.nice, work).await??
            }
            Priority::Full => nexus_shared::blocking::blocking(work).await??,
        };
        match outcome {
            Outcome::HeldElsewhere { owner } => {
                tracing::info!(holder = %owner, "another runner holds it; waiting");
                tokio::time::sleep(ctx.settings.lease_ttl() / 3).await;
            }
            Outcome::Failed(failure) => {
                alert::raise(ctx, failure.alert.clone()).await;
                return Ok(Outcome::Failed(failure));
            }
            other => return Ok(other),
        }
    }
}

/// The job summary of a run that did nothing here.
fn summary<T>(id: &impl Display, outcome: &Outcome<T>) -> String {
    match outcome {
        Outcome::AlreadyFinished(status) => format!("{id}: already {status}"),
        Outcome::HandedOver(reason) => {
            tracing::warn!(%reason, "handed over to another runner");
            format!("{id}: handed over ({reason})")
        }
        Outcome::HeldElsewhere { owner } => format!("{id}: held by {owner}"),
        Outcome::Succeeded(_) => format!("{id}: success"),
        Outcome::Failed(f) => format!("{id}: failure ({})", f.error.code),
    }
}

pub async fn handle(
    job: Job,
    attempt: Attempt,
    ctx: Data<JobContext>,
) -> Result<String, BoxDynError> {
    let span = tracing::info_span!("job", kind = job.kind(), attempt = attempt.current());
    let result = match job {
        Job::Backup { backup_id } => {
            let span = tracing::info_span!(parent: &span, "backup", backup_id = %backup_id);
            backup::run(&ctx, backup_id).instrument(span).await
        }
        Job::Verify {
            check_id,
            backup_id,
        } => {
            let span = tracing::info_span!(parent: &span, "verify", backup_id = %backup_id, check_id = %check_id);
            verify::run(&ctx, check_id, backup_id)
                .instrument(span)
                .await
        }
        Job::VerifyAll { requested_by } => {
            let span =
                tracing::info_span!(parent: &span, "verify_all", requested_by = %requested_by);
            verify::run_all(&ctx, requested_by).instrument(span).await
        }
        Job::Prune {
            backup_types,
            requested_by,
        } => {
            let span = tracing::info_span!(parent: &span, "prune", ?backup_types, requested_by = %requested_by);
            prune::run(&ctx, backup_types, requested_by)
                .instrument(span)
                .await
        }
        Job::Reconcile { requested_by } => {
            let span =
                tracing::info_span!(parent: &span, "reconcile", requested_by = %requested_by);
            reconcile::run(&ctx, requested_by).instrument(span).await
        }
        Job::Alert { alert } => {
            let span = tracing::info_span!(parent: &span, "alert", kind = alert.kind());
            alert::run(&ctx, alert).instrument(span).await
        }
        Job::DiskCheck { requested_by } => {
            let span =
                tracing::info_span!(parent: &span, "disk_check", requested_by = %requested_by);
            disk_check::run(&ctx, requested_by).instrument(span).await
        }
        Job::Offsite { backup_id } => {
            let span = tracing::info_span!(parent: &span, "offsite", backup_id = %backup_id);
            offsite::upload(&ctx, backup_id).instrument(span).await
        }
        Job::OffsiteCheck {
            backup_id,
            requested_by,
        } => {
            let span = tracing::info_span!(parent: &span, "offsite_check", backup_id = %backup_id);
            offsite::check(&ctx, backup_id, requested_by)
                .instrument(span)
                .await
        }
        Job::Restore { restore_id } => {
            let span = tracing::info_span!(parent: &span, "restore", restore_id = %restore_id);
            restore::run(&ctx, restore_id).instrument(span).await
        }
    };
    match result {
        Ok(summary) => Ok(summary),
        Err(e) => {
            tracing::error!(parent: &span, error = format!("{e:#}"), "job could not record its result; it will be retried");
            // apalis re-fetches failed jobs at once: pause before giving it back.
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            Err(e.into())
        }
    }
}
