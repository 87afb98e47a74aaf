//! `backup`: the guide's `backup.sh` (§4.2). Runs the same pre-flight as the
//! API, records the backup, then hands it to a live worker and follows it,
//! or, with no worker alive, runs it in this process. Either way it prints
//! the guide's log lines and exits with the appendix B codes.

use std::time::Duration;

use chrono::Utc;
use nexus_shared::alert::Alert;
use nexus_shared::catalog::{AuditEntry, AuditResult, AuditSource, BackupRecord, CreatedBy, NewBackup};
use nexus_shared::domain::{BackupId, BackupStatus, BackupType, Phase};
use nexus_shared::engine::{EngineError, Event, Observer, preflight};
use nexus_shared::fsutil::human_size;
use nexus_shared::queue::Job;
use nexus_shared::runner::{RunOutcome, Runner, log_lines};

use super::Env;
use crate::exit::{self, CliError};
use crate::log::Log;

#[derive(clap::Args)]
pub struct Args {
    /// daily, weekly, monthly or manual.
    #[arg(long = "type", default_value = "manual")]
    backup_type: String,
    /// A note kept with the backup (at most 500 characters).
    #[arg(long)]
    description: Option<String>,
    /// Enqueue the backup, print its id and return without waiting.
    #[arg(long)]
    no_wait: bool,
    /// Run the backup in this process even if a worker is alive.
    #[arg(long)]
    in_process: bool,
    /// Print the finished backup as JSON on stdout (log lines go to stderr).
    #[arg(long)]
    json: bool,
}

pub async fn run(env: &Env, args: Args) -> Result<(), CliError> {
    let log = Log {
        tz: env.settings.tz(),
        to_stderr: args.json,
    };
    let backup_type: BackupType = args
        .backup_type
        .parse()
        .ok()
        .filter(|t: &BackupType| t.is_requestable())
        .ok_or_else(|| CliError::usage(format!("--type must be daily, weekly, monthly or manual, not {:?}", args.backup_type)))?;
    let description = nexus_shared::domain::parse_description(args.description)
        .map_err(|e| CliError::usage(e.to_string()))?;

    log.line(format!("Starting backup (type: {backup_type})"));
    let s = &env.settings;
    let checked = preflight::check(&s.db_path, &s.backup_root, s.reserve_bytes).map_err(|e| {
        log.line(format!("Backup failed: {e}"));
        CliError::from(e)
    })?;
    log.line(format!("Database size: {}", human_size(checked.database_bytes)));
    log.line(format!("Available disk space: {}", human_size(checked.available_bytes)));

    let user = nexus_shared::os_user();
    let new = NewBackup {
        backup_type,
        description,
        created_by: CreatedBy { id: None, username: user.clone() },
        started_at: Utc::now(),
    };
    let record = env.catalog.create_backup(&new, s.tz(), &s.backup_root).map_err(anyhow::Error::from)?;
    let id = record.id.clone();
    let mut entry = AuditEntry::system(AuditSource::Cli, "backup.create", AuditResult::Accepted).target(id.to_string());
    entry.actor = user;
    env.catalog.append_audit(&entry).map_err(anyhow::Error::from)?;

    let record = if !args.in_process && env.queue.live_workers(worker_silence(env)).await.map_err(anyhow::Error::from)? > 0 {
        let job_id = env
            .queue
            .push(Job::Backup { backup_id: id.clone() }, None)
            .await
            .map_err(anyhow::Error::from)?;
        env.catalog.set_job_id(&id, &job_id).map_err(anyhow::Error::from)?;
        if args.no_wait {
            println!("{id}");
            return Ok(());
        }
        follow(env, &id, log).await?
    } else {
        if args.no_wait {
            log.line("No worker is running: the backup cannot be left to one (--no-wait); taking it here");
        } else if !args.in_process {
            log.line("No worker is running: taking the backup in this process");
        }
        run_here(env, &id, log).await?
    };
    finish(env, &record, log, args.json)
}

/// How long a worker may be silent before it counts as gone.
fn worker_silence(env: &Env) -> Duration {
    let q = &env.settings.queue;
    Duration::from_secs(q.heartbeat_secs * u64::from(q.missed_heartbeats) + 1)
}

/// Follows a backup that a worker runs, printing a line as each phase
/// starts (the integrity check runs beside the compression and is known
/// to be OK once the backup is being finalized). If the workers all go away, finishes it here.
async fn follow(env: &Env, id: &BackupId, log: Log) -> Result<BackupRecord, CliError> {
    const ORDER: [Phase; 4] = [Phase::Snapshot, Phase::IntegrityCheck, Phase::Compress, Phase::Finalize];
    let mut printed = 0;
    let mut checked_workers_at = std::time::Instant::now();
    loop {
        let record = env.catalog.get_backup(id).map_err(anyhow::Error::from)?;
        let reached = match record.status {
            BackupStatus::Success => ORDER.len(),
            _ => ORDER.iter().position(|p| *p == record.phase).map_or(0, |i| i + 1),
        };
        while printed < reached {
            match ORDER[printed] {
                Phase::Snapshot => log.line("Creating backup..."),
                Phase::IntegrityCheck => log.line("Running integrity check..."),
                Phase::Compress => log.line("Compressing backup..."),
                _ => log.line("Integrity check: OK"),
            }
            printed += 1;
        }
        if record.status.is_terminal() {
            return Ok(record);
        }
        if checked_workers_at.elapsed() > Duration::from_secs(2) {
            checked_workers_at = std::time::Instant::now();
            if env.queue.live_workers(worker_silence(env)).await.map_err(anyhow::Error::from)? == 0 {
                log.line("The worker stopped: finishing the backup in this process");
                return run_here(env, id, log).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Prints the guide's log lines for engine events (the pre-flight lines
/// were printed already).
struct Lines(Log);

impl Observer for Lines {
    fn event(&mut self, event: Event<'_>) -> Result<(), EngineError> {
        if !matches!(event, Event::Preflight(_) | Event::Compressed { .. }) {
            for line in log_lines(&event) {
                self.0.line(line);
            }
        }
        Ok(())
    }
}

/// Runs the backup in this process, through the same lease as a worker.
async fn run_here(env: &Env, id: &BackupId, log: Log) -> Result<BackupRecord, CliError> {
    let owner = format!("cli@{}:{}/{}", nexus_shared::os_user(), std::process::id(), ulid::Ulid::generate());
    loop {
        let outcome = tokio::task::block_in_place(|| {
            Runner {
                catalog: &env.catalog,
                settings: &env.settings,
                owner: owner.clone(),
                audit_source: AuditSource::Cli,
            }
            .run(id, &mut Lines(log))
        })
        .map_err(anyhow::Error::from)?;
        match outcome {
            RunOutcome::HeldElsewhere { .. } => {
                // A dead worker's lease: wait for it to expire.
                tokio::time::sleep(env.settings.lease_ttl() / 3).await;
            }
            RunOutcome::Failed(e) => {
                // Mailed by the next worker that runs; never fails this command further.
                let alert = Alert::BackupFailed {
                    backup_id: id.to_string(),
                    code: e.code().to_owned(),
                    message: e.to_string(),
                    at: Utc::now(),
                };
                if let Err(e) = env.queue.push(Job::Alert { alert }, None).await {
                    log.line(format!("Warning: cannot enqueue the failure alert: {e}"));
                }
                return Ok(env.catalog.get_backup(id).map_err(anyhow::Error::from)?);
            }
            _ => return Ok(env.catalog.get_backup(id).map_err(anyhow::Error::from)?),
        }
    }
}

fn finish(env: &Env, record: &BackupRecord, log: Log, json: bool) -> Result<(), CliError> {
    if json {
        println!("{}", serde_json::to_string_pretty(&record_json(env, record)).expect("JSON"));
    }
    match (&record.status, &record.error) {
        (BackupStatus::Success, _) => {
            if let (Some(from), Some(to)) = (record.original_size, record.file_size) {
                log.line(format!("Compression complete ({} -> {})", human_size(from), human_size(to)));
            }
            log.line("Backup completed successfully");
            log.line(format!("File: {}", env.settings.backup_root.join(&record.file_path).display()));
            log.line(format!("Checksum: {}", record.checksum.as_deref().unwrap_or("-")));
            Ok(())
        }
        (_, Some(error)) => {
            log.line(format!("Backup failed: {}", error.message));
            Err(CliError::new(exit::code_for(&error.code), format!("Error: {}: {}", error.code, error.message)))
        }
        _ => Err(CliError::new(exit::FAILURE, format!("Error: backup {} ended as {}", record.id, record.status))),
    }
}

/// The API's backup shape, for `--json`.
fn record_json(env: &Env, r: &BackupRecord) -> serde_json::Value {
    let tz = env.settings.tz();
    let time = |t: chrono::DateTime<Utc>| t.with_timezone(&tz).to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    serde_json::json!({
        "backup_id": r.id.to_string(),
        "backup_type": r.id.backup_type(),
        "status": r.status,
        "phase": r.phase,
        "progress_percent": r.progress_percent,
        "description": r.description,
        "file_path": env.settings.backup_root.join(&r.file_path).display().to_string(),
        "file_size": r.file_size,
        "original_size": r.original_size,
        "checksum": r.checksum,
        "created_by": r.created_by,
        "started_at": time(r.started_at),
        "completed_at": r.completed_at.map(time),
        "error": r.error,
    })
}
