//! One verification, run here through the catalog's verification record
//! and lease (the ones the worker uses): begin it, renew the lease while
//! the engine checks the file, record the result, audit it and, on a
//! failure, hand an alert to the workers' mailer.

use std::time::Duration;

use chrono::Utc;
use nexus_shared::alert::Alert;
use nexus_shared::catalog::{
    AuditResult, Begun, Catalog, CatalogError, Verification, VerificationStatus,
};
use nexus_shared::domain::BackupId;
use nexus_shared::engine::verify::{self, CheckStatus, Expected, Scratch, VerifyReport};
use nexus_shared::queue::Job;
use nexus_shared::settings::Settings;

use super::super::{Env, blocking, cli_audit, cli_user};
use crate::exit::{CliError, FAILURE};

/// A decompressed copy this old is a leftover of a killed verification.
const STALE_COPY_AGE: Duration = Duration::from_secs(24 * 3600);

/// Verifies `id`, or, if it is being verified already, waits for that
/// verification when `wait` (else skips it: `None`). A backup that did not
/// succeed cannot be verified: an error when `wait`, else skipped.
pub async fn verify(
    env: &Env,
    id: &BackupId,
    wait: bool,
) -> Result<Option<Verification>, CliError> {
    let ttl = env.settings.lease_ttl();
    let begun = env
        .catalog
        .begin_verification(id, &cli_user(), Some(ttl))
        .map_err(|e| match e {
            CatalogError::NotFound => CliError::new(FAILURE, format!("Error: no backup {id}")),
            other => anyhow::Error::from(other).into(),
        })?;
    let v = match begun {
        Begun::Started(v) => v,
        Begun::AlreadyRunning(v) if wait => return wait_for(env, &v.check_id).await.map(Some),
        Begun::NotVerifiable(status) if wait => {
            return Err(CliError::new(
                FAILURE,
                format!("Error: backup {id} is {status}: only a successful backup can be verified"),
            ));
        }
        _ => return Ok(None),
    };

    let keeper = tokio::spawn(renew(env.catalog.clone(), v.check_id.clone(), ttl));
    let record = env.catalog.get_backup(id).map_err(anyhow::Error::from)?;
    let expected = match (record.file_size, record.checksum.clone()) {
        (Some(file_size), Some(checksum)) => Some(Expected {
            file_size,
            checksum,
            original_size: record.original_size,
            raw_checksum: record.raw_checksum.clone(),
        }),
        _ => None,
    };
    let settings: Settings = env.settings.clone();
    let report = blocking(move || match expected {
        Some(expected) => check(&settings, &record.file_path, &expected),
        None => VerifyReport::not_run("the record has no file size or checksum"),
    })
    .await;
    keeper.abort();
    let report = report?;
    let recorded = env
        .catalog
        .finish_verification(&v.check_id, &report)
        .map_err(anyhow::Error::from)?;
    if !recorded {
        return Err(CliError::new(
            FAILURE,
            format!("Error: verification {} was closed elsewhere", v.check_id),
        ));
    }
    record_outcome(env, &v, &report).await?;
    Ok(Some(
        env.catalog
            .get_verification(&v.check_id)
            .map_err(anyhow::Error::from)?,
    ))
}

fn check(settings: &Settings, relative: &std::path::Path, expected: &Expected) -> VerifyReport {
    let scratch_dir = settings.backup_root.join(".tmp");
    if let Err(e) = verify::remove_stale_copies(&scratch_dir, STALE_COPY_AGE) {
        tracing::warn!(error = %e, "cannot clear old decompressed copies");
    }
    let scratch = Scratch {
        dir: &scratch_dir,
        reserve_bytes: settings.reserve_bytes,
    };
    verify::verify_backup(&settings.backup_root.join(relative), expected, &scratch)
}

/// Keeps the lease while the checks run.
async fn renew(catalog: Catalog, check_id: String, ttl: Duration) {
    loop {
        tokio::time::sleep(ttl / 3).await;
        let (catalog, check_id) = (catalog.clone(), check_id.clone());
        match tokio::task::spawn_blocking(move || catalog.renew_verification(&check_id, ttl)).await
        {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => return,
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot renew the verification lease"),
            Err(e) => tracing::warn!(error = %e, "cannot renew the verification lease"),
        }
    }
}

/// Waits for a verification someone else runs.
async fn wait_for(env: &Env, check_id: &str) -> Result<Verification, CliError> {
    loop {
        let v = env
            .catalog
            .get_verification(check_id)
            .map_err(anyhow::Error::from)?;
        if v.status != VerificationStatus::InProgress {
            return Ok(v);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn record_outcome(
    env: &Env,
    v: &Verification,
    report: &VerifyReport,
) -> Result<(), CliError> {
    let result = if report.passed {
        AuditResult::Success
    } else {
        AuditResult::Failure
    };
    let failed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .map(|c| format!("{} ({})", c.name, c.detail))
        .collect();
    let detail = if report.passed {
        format!("{}: pass", v.check_id)
    } else {
        format!("{}: fail: {}", v.check_id, failed.join("; "))
    };
    let entry = cli_audit("backup.verify", result)
        .target(v.backup_id.to_string())
        .detail(detail);
    env.catalog
        .append_audit(&entry)
        .map_err(anyhow::Error::from)?;
    if !report.passed {
        let alert = Alert::VerificationFailed {
            backup_id: v.backup_id.to_string(),
            check_id: v.check_id.clone(),
            failed_checks: failed,
            at: Utc::now(),
        };
        // Mailed by a worker; a queue that refuses never fails the command.
        if let Err(e) = env.queue.push(Job::Alert { alert }, None).await {
            tracing::warn!(error = %e, "cannot enqueue the verification alert");
        }
    }
    Ok(())
}
