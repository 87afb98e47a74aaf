//! The verification jobs (SPEC §4): run one recorded verification, or
//! verify every successful backup one after another, each with the shared
//! [`VerificationRunner`]; this mails the alert of a failed verification.

use nexus_shared::catalog::{
    AuditEntry, AuditResult, AuditSource, BackupFilter, Begun, CatalogError,
};
use nexus_shared::domain::{BackupId, BackupStatus, CheckId, CreatedBy};
use nexus_shared::runner::{Outcome, VerificationRunner, Verified};

use super::{Priority, drive};
use crate::JobContext;

fn runner(ctx: &JobContext) -> VerificationRunner<'_> {
    VerificationRunner {
        catalog: &ctx.catalog,
        settings: &ctx.settings,
        owner: format!("{}/{}", ctx.worker_name, ulid::Ulid::generate()),
        audit_source: AuditSource::Worker,
    }
}

/// Runs the verification `check_id` the API recorded.
pub async fn run(
    ctx: &JobContext,
    check_id: CheckId,
    backup_id: BackupId,
) -> anyhow::Result<String> {
    let outcome = drive(ctx, Priority::Background("verify"), {
        let check_id = check_id.clone();
        move |ctx| runner(ctx).run(&check_id)
    })
    .await?;
    Ok(match outcome {
        Outcome::Succeeded(verified) => {
            deliver(ctx, &verified).await;
            summary(&verified)
        }
        Outcome::AlreadyFinished(status) => format!("{backup_id}: {check_id} already {status}"),
        other => super::summary(&check_id, &other),
    })
}

/// Verifies every successful backup, newest first, recording each result
/// and going on past failures. A backup already being verified is left to
/// the verification that runs it.
pub async fn run_all(ctx: &JobContext, requested_by: String) -> anyhow::Result<String> {
    let filter = BackupFilter {
        status: Some(BackupStatus::Success),
        limit: u32::MAX,
        ..BackupFilter::default()
    };
    let (backups, _) = ctx.blocking(move |c| c.list_backups(&filter)).await?;
    tracing::info!(backups = backups.len(), "verifying every successful backup");
    let requester = CreatedBy {
        id: None,
        username: requested_by.clone(),
    };
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for backup in backups {
        let outcome = drive(ctx, Priority::Background("verify"), {
            let (id, requester) = (backup.id.clone(), requester.clone());
            move |ctx| {
                let runner = runner(ctx);
                match runner.begin(&id, &requester) {
                    Ok(Begun::Started(v)) => runner.execute(v),
                    Ok(Begun::AlreadyRunning(v)) => {
                        tracing::info!(backup_id = %id, check_id = %v.check_id, "already being verified; skipped");
                        Ok(Outcome::AlreadyFinished("being verified".into()))
                    }
                    Ok(Begun::NotVerifiable(status)) => Ok(Outcome::AlreadyFinished(status.to_string())),
                    // Deleted meanwhile.
                    Err(CatalogError::NotFound) => Ok(Outcome::AlreadyFinished("deleted".into())),
                    Err(e) => Err(e),
                }
            }
        })
        .await?;
        match outcome {
            Outcome::Succeeded(verified) => {
                deliver(ctx, &verified).await;
                if verified.report.passed {
                    passed += 1;
                } else {
                    failed += 1;
                }
            }
            Outcome::HandedOver(_) | Outcome::Failed(_) => failed += 1,
            Outcome::AlreadyFinished(_) | Outcome::HeldElsewhere { .. } => skipped += 1,
        }
    }
    let summary = format!(
        "verify-all by {requested_by}: {passed} passed, {failed} failed, {skipped} skipped"
    );
    let result = if failed == 0 {
        AuditResult::Success
    } else {
        AuditResult::Failure
    };
    let entry = AuditEntry::system(AuditSource::Worker, "backup.verify_all", result)
        .detail(summary.clone());
    if let Err(e) = ctx.blocking(move |c| c.append_audit(&entry)).await {
        tracing::error!(error = %e, "cannot write the audit log");
    }
    tracing::info!("{summary}");
    Ok(summary)
}

/// Mails the alert of a failed verification.
async fn deliver(ctx: &JobContext, verified: &Verified) {
    if let Some(alert) = &verified.alert {
        super::alert::raise(ctx, alert.clone()).await;
    }
}

fn summary(verified: &Verified) -> String {
    let (v, r) = (&verified.verification, &verified.report);
    if r.passed {
        format!("{}: {} pass", v.backup_id, v.check_id)
    } else {
        let names: Vec<&str> = r.failed().iter().map(|n| n.as_str()).collect();
        format!(
            "{}: {} fail ({})",
            v.backup_id,
            v.check_id,
            names.join(", ")
        )
    }
}
