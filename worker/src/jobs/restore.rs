//! The restore job (SPEC §6): runs the recorded restore with the shared
//! [`RestoreRunner`]. The runner does every step, records and audits the
//! outcome and logs a failure at ERROR; this job mails its alert.

use nexus_shared::catalog::AuditSource;
use nexus_shared::domain::RestoreId;
use nexus_shared::runner::{Outcome, RestoreRunner};

use super::{Priority, drive};
use crate::JobContext;

pub async fn run(ctx: &JobContext, id: RestoreId) -> anyhow::Result<String> {
    let owner = format!("{}/{}", ctx.worker_name, ulid::Ulid::generate());
    let outcome = drive(ctx, Priority::Full, {
        let id = id.clone();
        move |ctx| {
            RestoreRunner {
                catalog: &ctx.catalog,
                settings: &ctx.settings,
                owner: owner.clone(),
                audit_source: AuditSource::Worker,
            }
            .run(&id)
        }
    })
    .await?;
    Ok(match outcome {
        Outcome::Succeeded(safety) => format!("{id}: success (safety backup {safety})"),
        Outcome::Failed(f) => format!("{id}: failure ({})", f.error.code),
        other => super::summary(&id, &other),
    })
}
