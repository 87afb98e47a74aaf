//! A live restore: record it, enqueue it for a worker and follow it, or
//! run it here with the shared runner when no worker is alive (the way the
//! worker's restore job does).

use std::time::{Duration, Instant};

use nexus_shared::catalog::{AuditResult, AuditSource, NewRestore, RestoreRecord};
use nexus_shared::domain::RestoreId;
use nexus_shared::domain::{BackupId, BackupStatus};
use nexus_shared::engine::preflight;
use nexus_shared::queue::Job;
use nexus_shared::runner::RestoreRunner;
use serde_json::json;

use super::super::{Env, cli_audit, cli_user};
use crate::exit::{self, CliError};
use crate::json::local_time;
use crate::log::Log;

pub async fn run(env: &Env, id: &BackupId, json: bool) -> Result<(), CliError> {
    let log = Log {
        tz: env.settings.tz(),
        to_stderr: json,
    };
    let s = &env.settings;
    log.line(format!(
        "Starting restore of {id} into {}",
        s.db_path.display()
    ));
    // The safety backup's pre-flight, so the operator hears "no" now.
    preflight::check(&s.db_path, &s.backup_root, s.reserve_bytes).map_err(|e| {
        log.line(format!("Restore failed: {e}"));
        CliError::from(e)
    })?;
    let new = NewRestore {
        backup_id: id.clone(),
        target: s.db_path.clone(),
        requested_by: cli_user(),
    };
    let record = env
        .catalog
        .create_restore(&new)
        .map_err(anyhow::Error::from)?;
    let restore_id = record.id.clone();
    env.catalog
        .append_audit(
            &cli_audit("restore.request", AuditResult::Accepted)
                .target(id.to_string())
                .detail(restore_id.to_string()),
        )
        .map_err(anyhow::Error::from)?;
    log.line(format!("Restore {restore_id} recorded"));

    let record = if env.worker_alive().await? {
        let job_id = env
            .queue
            .push(
                Job::Restore {
                    restore_id: restore_id.clone(),
                },
                None,
            )
            .await
            .map_err(anyhow::Error::from)?;
        env.catalog
            .set_restore_job_id(&restore_id, &job_id)
            .map_err(anyhow::Error::from)?;
        follow(env, &restore_id, log).await?
    } else {
        log.line("No worker is running: restoring in this process");
        run_here(env, &restore_id).await?
    };
    finish(env, &record, log, json)
}

/// Prints each phase as the worker reaches it; finishes here if the
/// workers all go away.
async fn follow(env: &Env, id: &RestoreId, log: Log) -> Result<RestoreRecord, CliError> {
    let mut last_phase = None;
    let mut checked_workers_at = Instant::now();
    loop {
        let record = env.catalog.get_restore(id).map_err(anyhow::Error::from)?;
        if last_phase != Some(record.phase) {
            log.line(format!("Phase: {}", record.phase.as_str()));
            last_phase = Some(record.phase);
        }
        if record.status.is_terminal() {
            return Ok(record);
        }
        if checked_workers_at.elapsed() > Duration::from_secs(2) {
            checked_workers_at = Instant::now();
            if !env.worker_alive().await? {
                log.line("The worker stopped: finishing the restore in this process");
                return run_here(env, id).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn run_here(env: &Env, id: &RestoreId) -> Result<RestoreRecord, CliError> {
    let owner = Env::owner();
    let runner = RestoreRunner {
        catalog: &env.catalog,
        settings: &env.settings,
        owner,
        audit_source: AuditSource::Cli,
    };
    // A lease taken over by a worker that came back: that worker finishes.
    env.run_here(|| runner.run(id), |warning| eprintln!("{warning}"))
        .await?;
    Ok(env.catalog.get_restore(id).map_err(anyhow::Error::from)?)
}

fn finish(env: &Env, r: &RestoreRecord, log: Log, json: bool) -> Result<(), CliError> {
    if json {
        let tz = env.settings.tz();
        crate::json::print(&json!({
            "restore_id": r.id.to_string(),
            "backup_id": r.backup_id.to_string(),
            "status": r.status,
            "phase": r.phase.as_str(),
            "safety_backup_id": r.safety_backup_id.as_ref().map(ToString::to_string),
            "target": r.target.display().to_string(),
            "requested_by": r.requested_by,
            "started_at": local_time(r.started_at, tz),
            "completed_at": r.completed_at.map(|t| local_time(t, tz)),
            "error": r.error,
        }));
    }
    match (&r.status, &r.error) {
        (BackupStatus::Success, _) => {
            log.line(format!(
                "Restore completed successfully: {} restored into {}",
                r.backup_id,
                r.target.display()
            ));
            if let Some(safety) = &r.safety_backup_id {
                log.line(format!("Safety backup: {safety}"));
            }
            Ok(())
        }
        (_, Some(e)) => {
            log.line(format!("Restore failed: {}", e.message));
            let code = match e.code.as_str() {
                "checksum_mismatch" | "backup_corrupt" => exit::INTEGRITY,
                other => exit::code_for(other),
            };
            Err(CliError::new(
                code,
                format!("Error: {}: {}", e.code, e.message),
            ))
        }
        _ => Err(CliError::new(
            exit::FAILURE,
            format!("Error: restore {} ended as {}", r.id, r.status),
        )),
    }
}
