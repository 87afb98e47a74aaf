//! The offsite check: the copy fetched from the bucket (object checksum,
//! decryption) and verified like a local backup, the result recorded on
//! the copy, audited, and mailed when it fails.

use nexus_shared::blocking::blocking;
use nexus_shared::catalog::{
    AuditEntry, AuditResult, AuditSource, OffsiteCheckResult, OffsiteCopy, OffsiteState,
};
use nexus_shared::domain::BackupId;
use nexus_shared::engine::verify::{self, Scratch};
use nexus_shared::offsite::{Bucket, OffsiteError};

use super::{append_audit, is_not_found, open_bucket, raise};
use crate::JobContext;

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
    let fetched = bucket.fetch(copy, &dest).await?;
    let expected = copy.expected();
    let reserve = ctx.settings.reserve_bytes;
    let report = blocking(move || {
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
