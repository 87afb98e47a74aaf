//! The reconcile job: compares the backup folder with the catalog, stores
//! the report the API shows, and audits the outcome (SPEC §5).

use chrono::Utc;
use nexus_shared::blocking::blocking;
use nexus_shared::catalog::{AuditEntry, AuditResult, AuditSource};
use nexus_shared::service::reconcile::reconcile;

use crate::JobContext;

pub async fn run(ctx: &JobContext, requested_by: String) -> anyhow::Result<String> {
    let root = ctx.settings.backup_root.clone();
    let report = blocking({
        let catalog = ctx.catalog.clone();
        move || reconcile(&catalog, &root, Utc::now())
    })
    .await??;
    let summary = format!(
        "{} orphan files, {} missing files, {} interrupted deletions finished",
        report.orphan_files.len(),
        report.missing_files.len(),
        report.finished_deletions.len()
    );
    if report.orphan_files.is_empty() && report.missing_files.is_empty() {
        tracing::info!("reconcile: {summary}");
    } else {
        tracing::warn!("reconcile: {summary}");
    }
    let entry = AuditEntry {
        actor: requested_by,
        ..AuditEntry::system(
            AuditSource::Worker,
            "backup.reconcile",
            AuditResult::Success,
        )
    }
    .detail(summary.clone());
    ctx.blocking(move |c| c.append_audit(&entry)).await?;
    Ok(summary)
}
