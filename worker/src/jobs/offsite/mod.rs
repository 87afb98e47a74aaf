//! The offsite jobs: copy a successful backup to the bucket, check a copy
//! by reading it back, and remove copies past their offsite retention.
//!
//! An upload that fails for a reason that may pass (the bucket unreachable,
//! a read-back that did not match) returns an error so the queue tries it
//! again; after the last try, or at once for a reason that will not pass
//! (a key file that cannot be read, a local file that no longer matches
//! its checksum), the copy is recorded `failed`, audited and mailed. None
//! of it ever touches the local backup or its record. The check and the
//! offsite retention live in [`check`] and [`prune`].

use chrono::Utc;
use nexus_shared::alert::Alert;
use nexus_shared::catalog::{
    AuditEntry, AuditResult, AuditSource, BackupRecord, CatalogError, StoredObject,
};
use nexus_shared::domain::{BackupId, BackupStatus};
use nexus_shared::offsite::{Bucket, OffsiteError, manifest_key};

use crate::JobContext;

mod check;
mod prune;

pub use check::check;
pub use prune::prune;

/// Copies the backup `id` to the bucket and records the checked copy.
pub async fn upload(ctx: &JobContext, id: BackupId) -> anyhow::Result<String> {
    let Some(bucket) = open_bucket(ctx, &id).await? else {
        return Ok(format!(
            "{id}: offsite copies are off, or their settings cannot work"
        ));
    };
    let record = match ctx
        .blocking({
            let id = id.clone();
            move |c| c.get_backup(&id)
        })
        .await
    {
        Ok(record) => record,
        Err(e) if is_not_found(&e) => return Ok(format!("{id}: gone before its offsite copy")),
        Err(e) => return Err(e),
    };
    let Some(checksum) = record
        .checksum
        .clone()
        .filter(|_| record.status == BackupStatus::Success)
    else {
        return Ok(format!("{id}: not a successful backup, nothing to copy"));
    };
    let object_key = bucket.object_key_for(&id);
    let begun = ctx
        .blocking({
            let (record, key) = (record.clone(), object_key.clone());
            move |c| c.begin_offsite_upload(&record, &key)
        })
        .await?;
    if !begun {
        return Ok(format!("{id}: already stored offsite"));
    }
    let local = ctx.settings.backup_root.join(&record.file_path);
    tracing::info!(object = %bucket.location(&object_key), "uploading the offsite copy");
    let started = std::time::Instant::now();
    match bucket.upload(&local, &id, &checksum).await {
        Ok(uploaded) => {
            let manifest = nexus_shared::engine::manifest::manifest_path(&local);
            if let Err(e) = bucket
                .put_small(&manifest_key(&ctx.settings.offsite.prefix, &id), &manifest)
                .await
            {
                // The catalog holds all a restore needs; the manifest only
                // helps a person browsing the bucket.
                tracing::warn!(error = %e, "cannot store the manifest beside the offsite copy");
            }
            let stored = StoredObject {
                object_size: uploaded.object_size,
                object_checksum: uploaded.object_checksum.clone(),
                encrypted_to: uploaded.encrypted_to.clone(),
            };
            ctx.blocking({
                let id = id.clone();
                move |c| c.finish_offsite_upload(&id, &stored)
            })
            .await?;
            let detail = format!(
                "{} ({} bytes, {}{}) in {:.1} s; read back: checksum matches",
                bucket.location(&uploaded.object_key),
                uploaded.object_size,
                uploaded.object_checksum,
                uploaded
                    .encrypted_to
                    .as_deref()
                    .map(|r| format!(", encrypted to {r}"))
                    .unwrap_or_default(),
                started.elapsed().as_secs_f64()
            );
            tracing::info!("Offsite copy stored: {detail}");
            audit(ctx, "offsite.upload", &id, AuditResult::Success, detail).await;
            Ok(format!("{id}: stored offsite"))
        }
        Err(e) => upload_failed(ctx, &record, e).await,
    }
}

async fn upload_failed(
    ctx: &JobContext,
    record: &BackupRecord,
    e: OffsiteError,
) -> anyhow::Result<String> {
    let id = record.id.clone();
    let attempts = ctx
        .blocking({
            let id = id.clone();
            move |c| c.get_offsite_copy(&id)
        })
        .await?
        .map_or(1, |c| c.attempts);
    let give_up = !e.is_transient() || attempts >= ctx.settings.queue.max_attempts.max(1);
    let message = e.to_string();
    ctx.blocking({
        let (id, message) = (id.clone(), message.clone());
        move |c| c.fail_offsite_upload(&id, &message, give_up)
    })
    .await?;
    let detail = format!("{}: {message} (try {attempts})", e.code());
    audit(ctx, "offsite.upload", &id, AuditResult::Failure, detail).await;
    if give_up {
        tracing::error!(code = e.code(), error = %e, attempts, "Offsite copy failed; the local backup is unaffected");
        raise(ctx, &id, e.code(), message).await;
        Ok(format!("{id}: offsite copy failed ({})", e.code()))
    } else {
        tracing::warn!(code = e.code(), error = %e, attempts, "Offsite upload failed; the queue will try again");
        Err(e.into())
    }
}

/// The bucket, or `None` when offsite copies are off. Settings that cannot
/// work (a missing key file) are recorded and mailed, not retried.
pub(super) async fn open_bucket(ctx: &JobContext, id: &BackupId) -> anyhow::Result<Option<Bucket>> {
    if !ctx.settings.offsite.enabled() {
        return Ok(None);
    }
    match Bucket::open(&ctx.settings.offsite) {
        Ok(bucket) => Ok(Some(bucket)),
        Err(e) => {
            tracing::error!(code = e.code(), error = %e, "the offsite settings cannot work");
            audit(
                ctx,
                "offsite.upload",
                id,
                AuditResult::Failure,
                e.to_string(),
            )
            .await;
            raise(ctx, id, e.code(), e.to_string()).await;
            Ok(None)
        }
    }
}

pub(super) fn is_not_found(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<CatalogError>(),
        Some(CatalogError::NotFound)
    )
}

pub(super) async fn raise(ctx: &JobContext, id: &BackupId, code: &str, message: String) {
    super::alert::raise(
        ctx,
        Alert::OffsiteFailed {
            backup_id: id.to_string(),
            code: code.to_owned(),
            message,
            at: Utc::now(),
        },
    )
    .await;
}

async fn audit(
    ctx: &JobContext,
    action: &'static str,
    id: &BackupId,
    result: AuditResult,
    detail: String,
) {
    let entry = AuditEntry::system(AuditSource::Worker, action, result)
        .target(id.to_string())
        .detail(detail);
    append_audit(ctx, entry).await;
}

pub(super) async fn append_audit(ctx: &JobContext, entry: AuditEntry) {
    if let Err(e) = ctx.blocking(move |c| c.append_audit(&entry)).await {
        tracing::error!(error = %e, "cannot write the audit log");
    }
}
