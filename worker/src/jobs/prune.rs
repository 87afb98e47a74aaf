//! The prune job: removes the expired backups of the given types (SPEC §2)
//! through the shared prune, which audits each deletion.

use chrono::Utc;
use nexus_shared::catalog::{AuditEntry, AuditResult, AuditSource};
use nexus_shared::domain::BackupType;
use nexus_shared::service::prune::prune;

use crate::JobContext;

pub async fn run(
    ctx: &JobContext,
    backup_types: Vec<BackupType>,
    requested_by: String,
) -> anyhow::Result<String> {
    let audit = AuditEntry {
        actor: requested_by.clone(),
        ..AuditEntry::system(AuditSource::Worker, "backup.delete", AuditResult::Success)
    };
    let settings = ctx.settings.clone();
    let types = backup_types.clone();
    let outcome = ctx
        .blocking(move |c| prune(c, &settings, Utc::now(), &types, &audit))
        .await?;
    let mut summary = format!(
        "pruned {} expired backups, {} could not be deleted",
        outcome.deleted.len(),
        outcome.kept.len()
    );
    if ctx.settings.offsite.enabled() {
        let (removed, kept) = super::offsite::prune(ctx, &backup_types, &requested_by).await?;
        summary.push_str(&format!(
            "; offsite: {removed} expired copies removed, {kept} could not be"
        ));
    }
    tracing::info!("{summary}");
    Ok(summary)
}
