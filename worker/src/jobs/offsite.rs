//! The offsite jobs: copy a successful backup to the bucket, check a copy
//! by reading it back, and remove copies past their offsite retention.
//!
//! An upload that fails for a reason that may pass (the bucket unreachable,
//! a read-back that did not match) returns an error so the queue tries it
//! again; after the last try, or at once for a reason that will not pass
//! (a key file that cannot be read, a local file that no longer matches
//! its checksum), the copy is recorded `failed`, audited
//! and mailed. None of it ever touches the local backup or its record.

use chrono::Utc;
use nexus_shared::alert::Alert;
use nexus_shared::catalog::{
    AuditEntry, AuditResult, AuditSource, BackupRecord, CatalogError, OffsiteCheckResult,
    OffsiteCopy, OffsiteState, StoredObject,
};
use nexus_shared::domain::{BackupId, BackupStatus, BackupType};
use nexus_shared::engine::verify::{self, Expected, Scratch};
use nexus_shared::offsite::{Bucket, ExpectedObject, OffsiteError, manifest_key};
use nexus_shared::retention;

use crate::JobContext;

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

/// Reads the offsite copy of `id` back and runs the five checks on it.
pub async fn check(ctx: &JobContext, id: BackupId, requested_by: String) -> anyhow::Result<String> {
    let Some(bucket) = open_bucket(ctx, &id).await? else {
        return Ok(format!(
            "{id}: offsite copies are off, or their settings cannot work"
        ));
    };
    let copy = match ctx
        .blocking({
            let id = id.clone();
            move |c| c.offsite_copy(&id)
        })
        .await
    {
        Ok(copy) if copy.state == OffsiteState::Stored => copy,
        Ok(copy) => return Ok(format!("{id}: offsite copy is {}, not checked", copy.state)),
        Err(e) if is_not_found(&e) => return Ok(format!("{id}: no offsite copy")),
        Err(e) => return Err(e),
    };
    let (result, detail) = match check_copy(ctx, &bucket, &copy).await {
        Ok(()) => (
            OffsiteCheckResult::Pass,
            "object checksum, decryption, gzip, database checksum and integrity_check: all pass"
                .to_owned(),
        ),
        Err(e) => (OffsiteCheckResult::Fail, format!("{}: {e}", e.code())),
    };
    ctx.blocking({
        let (id, detail) = (id.clone(), detail.clone());
        move |c| c.record_offsite_check(&id, result, &detail)
    })
    .await?;
    let audit_result = match result {
        OffsiteCheckResult::Pass => AuditResult::Success,
        OffsiteCheckResult::Fail => AuditResult::Failure,
    };
    let entry = AuditEntry {
        actor: requested_by,
        ..AuditEntry::system(AuditSource::Worker, "offsite.check", audit_result)
    }
    .target(id.to_string())
    .detail(detail.clone());
    append_audit(ctx, entry).await;
    if result == OffsiteCheckResult::Fail {
        tracing::error!(%detail, "Offsite copy failed its check");
        raise(ctx, &id, "offsite_check_failed", detail).await;
        return Ok(format!("{id}: offsite copy FAIL"));
    }
    tracing::info!("Offsite copy passed its check");
    Ok(format!("{id}: offsite copy PASS"))
}

/// Fetches the copy into the scratch folder and verifies it like a local backup.
async fn check_copy(
    ctx: &JobContext,
    bucket: &Bucket,
    copy: &OffsiteCopy,
) -> Result<(), CheckError> {
    let scratch = ctx.settings.backup_root.join(".tmp");
    nexus_shared::fsutil::create_private_dir(&scratch)
        .map_err(|e| OffsiteError::io("cannot create", &scratch, e))?;
    let dest = scratch.join(format!("{}.offsite.db.gz", copy.backup_id));
    nexus_shared::fsutil::remove_if_exists(&dest)
        .map_err(|e| OffsiteError::io("cannot remove", &dest, e))?;
    let fetched = bucket.fetch(expected_object(copy), &dest).await?;
    let expected = Expected {
        file_size: copy.file_size,
        checksum: copy.checksum.clone(),
        original_size: copy.original_size,
        raw_checksum: copy.raw_checksum.clone(),
    };
    let reserve = ctx.settings.reserve_bytes;
    let report = tokio::task::spawn_blocking(move || {
        let scratch = Scratch {
            dir: fetched.path().parent().expect("in the scratch folder"),
            reserve_bytes: reserve,
        };
        verify::verify_backup(fetched.path(), &expected, &scratch)
    })
    .await
    .map_err(|e| CheckError::Failed(format!("the checking thread failed: {e}")))?;
    if report.passed {
        Ok(())
    } else {
        let failed: Vec<String> = report
            .checks
            .iter()
            .filter(|c| report.failed().contains(&c.name))
            .map(|c| format!("{}: {}", c.name.as_str(), c.detail))
            .collect();
        Err(CheckError::Failed(failed.join("; ")))
    }
}

#[derive(Debug, thiserror::Error)]
enum CheckError {
    #[error(transparent)]
    Offsite(#[from] OffsiteError),
    #[error("{0}")]
    Failed(String),
}

impl CheckError {
    fn code(&self) -> &'static str {
        match self {
            CheckError::Offsite(e) => e.code(),
            CheckError::Failed(_) => "offsite_copy_corrupt",
        }
    }
}

/// What the catalog says the object of `copy` holds.
pub fn expected_object(copy: &OffsiteCopy) -> ExpectedObject<'_> {
    ExpectedObject {
        object_key: &copy.object_key,
        object_checksum: copy.object_checksum.as_deref(),
        checksum: &copy.checksum,
        encrypted_to: copy.encrypted_to.as_deref(),
    }
}

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

/// The bucket, or `None` when offsite copies are off. Settings that cannot
/// work (a missing key file) are recorded and mailed, not retried.
async fn open_bucket(ctx: &JobContext, id: &BackupId) -> anyhow::Result<Option<Bucket>> {
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

fn is_not_found(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<CatalogError>(),
        Some(CatalogError::NotFound)
    )
}

async fn raise(ctx: &JobContext, id: &BackupId, code: &str, message: String) {
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

async fn append_audit(ctx: &JobContext, entry: AuditEntry) {
    if let Err(e) = ctx.blocking(move |c| c.append_audit(&entry)).await {
        tracing::error!(error = %e, "cannot write the audit log");
    }
}
