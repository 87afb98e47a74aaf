//! Offsite retention: the copies past `[offsite.retention]` removed from
//! the bucket (object and manifest), then forgotten by the catalog.

use chrono::Utc;
use nexus_shared::catalog::{AuditEntry, AuditResult, AuditSource};
use nexus_shared::domain::BackupType;
use nexus_shared::offsite::{Bucket, manifest_key};
use nexus_shared::retention;

use super::append_audit;
use crate::JobContext;

/// Removes the offsite copies of `types` past the offsite retention. The
/// newest copy of each type always stays, as locally.
pub async fn prune(
    ctx: &JobContext,
    types: &[BackupType],
    requested_by: &str,
) -> anyhow::Result<(usize, usize)> {
    let settings = &ctx.settings.offsite;
    if !settings.enabled() {
        return Ok((0, 0));
    }
    let bucket = Bucket::open(settings)?;
    let copies = ctx.blocking(|c| c.offsite_summaries()).await?;
    let mut expired =
        retention::expired(&copies, Utc::now(), &settings.retention, ctx.settings.tz());
    expired.retain(|e| types.contains(&e.record.id.backup_type()));
    let (mut removed, mut kept) = (0, 0);
    for e in expired {
        let id = e.record.id.clone();
        let copy = ctx
            .blocking({
                let id = id.clone();
                move |c| {
                    c.begin_offsite_deletion(&id)?;
                    c.offsite_copy(&id)
                }
            })
            .await?;
        let keys = vec![copy.object_key.clone(), manifest_key(&settings.prefix, &id)];
        let entry = |result, detail: String| {
            AuditEntry {
                actor: requested_by.to_owned(),
                ..AuditEntry::system(AuditSource::Worker, "offsite.delete", result)
            }
            .target(id.to_string())
            .detail(detail)
        };
        match bucket.delete(&keys).await {
            Ok(()) => {
                ctx.blocking({
                    let id = id.clone();
                    move |c| c.forget_offsite_copy(&id)
                })
                .await?;
                let detail = format!(
                    "{} removed: offsite retention {} (before {})",
                    bucket.location(&copy.object_key),
                    e.period,
                    e.cutoff
                );
                tracing::info!("{detail}");
                append_audit(ctx, entry(AuditResult::Success, detail)).await;
                removed += 1;
            }
            Err(err) => {
                // Stays `deleting`; the next prune tries again.
                tracing::warn!(error = %err, object = %copy.object_key, "cannot remove an expired offsite copy");
                append_audit(ctx, entry(AuditResult::Failure, err.to_string())).await;
                kept += 1;
            }
        }
    }
    Ok((removed, kept))
}
