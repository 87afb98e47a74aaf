//! The verification jobs (SPEC §4): run one recorded verification, or
//! verify every successful backup one after another. The engine runs the
//! five checks; this records the result, audits it and, on a failure,
//! logs at ERROR with the failed checks and mails an alert.
//! A failed check never touches the backup file.

use std::time::Duration;

use nexus_shared::catalog::{
    AuditEntry, AuditResult, AuditSource, BackupFilter, BackupRecord, Begun, CatalogError, Claim,
    CreatedBy, Verification,
};
use nexus_shared::domain::{BackupId, BackupStatus};
use nexus_shared::engine::verify::{self, Expected, Scratch, VerifyReport};

use crate::JobContext;

/// A decompressed copy this old is a leftover of a killed verification.
const STALE_COPY_AGE: Duration = Duration::from_secs(24 * 3600);

/// Runs the verification `check_id` the API recorded.
pub async fn run(
    ctx: &JobContext,
    check_id: String,
    backup_id: BackupId,
) -> anyhow::Result<String> {
    let ttl = ctx.settings.lease_ttl();
    let verification = loop {
        let claim = ctx
            .blocking({
                let check_id = check_id.clone();
                move |c| match c.claim_verification(&check_id, ttl) {
                    Err(CatalogError::NotFound) => Ok(None),
                    other => other.map(Some),
                }
            })
            .await?;
        match claim {
            Some(Claim::Claimed(v)) => break v,
            Some(Claim::Finished(status)) => return Ok(format!("{check_id}: already {status}")),
            // Re-delivered while its first runner's lease is still live:
            // wait until that runner finishes or its lease expires.
            Some(Claim::HeldElsewhere) => tokio::time::sleep(ttl / 3).await,
            None => return Ok(format!("{check_id}: gone with backup {backup_id}")),
        }
    };
    let report = execute(ctx, &verification).await?;
    Ok(summary(&verification, report.as_ref()))
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
    let ttl = ctx.settings.lease_ttl();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for backup in backups {
        let begun = ctx
            .blocking({
                let (id, requester) = (backup.id.clone(), requester.clone());
                move |c| match c.begin_verification(&id, &requester, Some(ttl)) {
                    Err(CatalogError::NotFound) => Ok(None), // deleted meanwhile
                    other => other.map(Some),
                }
            })
            .await?;
        let verification = match begun {
            Some(Begun::Started(v)) => v,
            Some(Begun::AlreadyRunning(v)) => {
                tracing::info!(backup_id = %backup.id, check_id = %v.check_id, "already being verified; skipped");
                skipped += 1;
                continue;
            }
            Some(Begun::NotVerifiable(_)) | None => {
                skipped += 1;
                continue;
            }
        };
        match execute(ctx, &verification).await? {
            Some(report) if report.passed => passed += 1,
            _ => failed += 1,
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
    audit(
        ctx,
        AuditEntry::system(AuditSource::Worker, "backup.verify_all", result)
            .detail(summary.clone()),
    )
    .await;
    tracing::info!("{summary}");
    Ok(summary)
}

/// Runs a claimed verification to its end and records the result.
/// Returns `None` when someone else closed it meanwhile.
async fn execute(ctx: &JobContext, v: &Verification) -> anyhow::Result<Option<VerifyReport>> {
    let ttl = ctx.settings.lease_ttl();
    let keeper = tokio::spawn({
        let (ctx, check_id) = (ctx.clone(), v.check_id.clone());
        async move {
            loop {
                tokio::time::sleep(ttl / 3).await;
                let check_id = check_id.clone();
                match ctx
                    .blocking(move |c| c.renew_verification(&check_id, ttl))
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => tracing::warn!(error = %e, "cannot renew the verification lease"),
                }
            }
        }
    });
    let report = check_backup(ctx, &v.backup_id).await;
    keeper.abort();
    let recorded = ctx
        .blocking({
            let (check_id, report) = (v.check_id.clone(), report.clone());
            move |c| c.finish_verification(&check_id, &report)
        })
        .await?;
    if !recorded {
        tracing::warn!(check_id = %v.check_id, "the verification was closed elsewhere; result dropped");
        return Ok(None);
    }
    record_outcome(ctx, v, &report).await;
    Ok(Some(report))
}

/// The engine's report on the backup's file, against its record.
async fn check_backup(ctx: &JobContext, id: &BackupId) -> VerifyReport {
    let record = ctx
        .blocking({
            let id = id.clone();
            move |c| c.get_backup(&id)
        })
        .await;
    let record: BackupRecord = match record {
        Ok(r) => r,
        Err(e) => return VerifyReport::not_run(&format!("cannot read the backup record: {e:#}")),
    };
    let (Some(file_size), Some(checksum)) = (record.file_size, record.checksum.clone()) else {
        return VerifyReport::not_run("the record has no file size or checksum");
    };
    let expected = Expected {
        file_size,
        checksum,
        original_size: record.original_size,
        raw_checksum: record.raw_checksum.clone(),
    };
    let settings = ctx.settings.clone();
    tokio::task::spawn_blocking(move || {
        let file = settings.backup_root.join(&record.file_path);
        let scratch_dir = settings.backup_root.join(".tmp");
        if let Err(e) = verify::remove_stale_copies(&scratch_dir, STALE_COPY_AGE) {
            tracing::warn!(error = %e, "cannot clear old decompressed copies");
        }
        let scratch = Scratch {
            dir: &scratch_dir,
            reserve_bytes: settings.reserve_bytes,
        };
        verify::verify_backup(&file, &expected, &scratch)
    })
    .await
    .unwrap_or_else(|e| VerifyReport::not_run(&format!("the verification thread failed: {e}")))
}

async fn record_outcome(ctx: &JobContext, v: &Verification, report: &VerifyReport) {
    let requested = format!("requested by {}", v.requested_by.username);
    let entry = AuditEntry::system(
        AuditSource::Worker,
        "backup.verify",
        if report.passed {
            AuditResult::Success
        } else {
            AuditResult::Failure
        },
    )
    .target(v.backup_id.to_string());
    if report.passed {
        tracing::info!(backup_id = %v.backup_id, check_id = %v.check_id,
            duration_ms = report.duration.as_millis() as u64, "Backup verification passed");
        audit(
            ctx,
            entry.detail(format!("{}: pass ({requested})", v.check_id)),
        )
        .await;
        return;
    }
    let mut failed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status == verify::CheckStatus::Fail)
        .map(|c| format!("{} ({})", c.name, c.detail))
        .collect();
    if failed.is_empty() {
        // Nothing could run: every check says why.
        failed.extend(report.checks.first().map(|c| c.detail.clone()));
    }
    let names: Vec<&str> = report.failed().iter().map(|n| n.as_str()).collect();
    tracing::error!(backup_id = %v.backup_id, check_id = %v.check_id,
        failed_checks = %names.join(", "), "Backup verification FAILED");
    super::alert::raise(
        ctx,
        nexus_shared::alert::Alert::VerificationFailed {
            backup_id: v.backup_id.to_string(),
            check_id: v.check_id.clone(),
            failed_checks: failed.clone(),
            at: chrono::Utc::now(),
        },
    )
    .await;
    audit(
        ctx,
        entry.detail(format!(
            "{}: fail: {} ({requested})",
            v.check_id,
            failed.join("; ")
        )),
    )
    .await;
}

async fn audit(ctx: &JobContext, entry: AuditEntry) {
    if let Err(e) = ctx.blocking(move |c| c.append_audit(&entry)).await {
        tracing::error!(error = %e, "cannot write the audit log");
    }
}

fn summary(v: &Verification, report: Option<&VerifyReport>) -> String {
    match report {
        Some(r) if r.passed => format!("{}: {} pass", v.backup_id, v.check_id),
        Some(r) => {
            let names: Vec<&str> = r.failed().iter().map(|n| n.as_str()).collect();
            format!(
                "{}: {} fail ({})",
                v.backup_id,
                v.check_id,
                names.join(", ")
            )
        }
        None => format!("{}: {} closed elsewhere", v.backup_id, v.check_id),
    }
}
