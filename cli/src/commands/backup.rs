//! `backup`: the guide's `backup.sh` (§4.2). Runs the same pre-flight as the
//! API, records the backup, then hands it to a live worker and follows it,
//! or, with no worker alive, runs it in this process. Either way it prints
//! the guide's log lines and exits with the appendix B codes.

mod follow;

use chrono::Utc;
use nexus_shared::catalog::{AuditResult, BackupRecord, NewBackup};
use nexus_shared::domain::CreatedBy;
use nexus_shared::domain::{BackupStatus, BackupType};
use nexus_shared::engine::preflight;
use nexus_shared::fsutil::human_size;
use nexus_shared::queue::Job;

use super::{Env, cli_audit};
use crate::exit::{self, CliError};
use crate::log::Log;
use crate::progress::Progress;

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
        .ok_or_else(|| {
            CliError::usage(format!(
                "--type must be daily, weekly, monthly or manual, not {:?}",
                args.backup_type
            ))
        })?;
    let description = nexus_shared::domain::parse_description(args.description)
        .map_err(|e| CliError::usage(e.to_string()))?;

    log.line(format!("Starting backup (type: {backup_type})"));
    let s = &env.settings;
    let checked = preflight::check(&s.db_path, &s.backup_root, s.reserve_bytes).map_err(|e| {
        log.line(format!("Backup failed: {e}"));
        CliError::from(e)
    })?;
    log.line(format!(
        "Database size: {}",
        human_size(checked.database_bytes)
    ));
    log.line(format!(
        "Available disk space: {}",
        human_size(checked.available_bytes)
    ));

    let new = NewBackup {
        backup_type,
        description,
        created_by: CreatedBy {
            id: None,
            username: nexus_shared::os_user(),
        },
        started_at: Utc::now(),
    };
    let record = env
        .catalog
        .create_backup(&new, s.tz(), &s.backup_root)
        .map_err(anyhow::Error::from)?;
    let id = record.id.clone();
    env.catalog
        .append_audit(&cli_audit("backup.create", AuditResult::Accepted).target(id.to_string()))
        .map_err(anyhow::Error::from)?;

    let progress = Progress::new(!args.json && !args.no_wait);
    let alive = env
        .queue
        .workers_alive()
        .await
        .map_err(anyhow::Error::from)?;
    let record = if !args.in_process && alive > 0 {
        let job_id = env
            .queue
            .push(
                Job::Backup {
                    backup_id: id.clone(),
                },
                None,
            )
            .await
            .map_err(anyhow::Error::from)?;
        env.catalog
            .set_job_id(&id, &job_id)
            .map_err(anyhow::Error::from)?;
        if args.no_wait {
            println!("{id}");
            return Ok(());
        }
        follow::follow(env, &id, log, &progress).await
    } else {
        if args.no_wait {
            log.line("No worker is running: the backup cannot be left to one (--no-wait); taking it here");
        } else if !args.in_process {
            log.line("No worker is running: taking the backup in this process");
        }
        follow::run_here(env, &id, log, &progress).await
    };
    progress.finish();
    finish(env, &record?, log, args.json)
}

fn finish(env: &Env, record: &BackupRecord, log: Log, json: bool) -> Result<(), CliError> {
    if json {
        crate::json::print(&crate::json::backup(record, &env.settings));
    }
    match (&record.status, &record.error) {
        (BackupStatus::Success, _) => {
            if let (Some(from), Some(to)) = (record.original_size, record.file_size) {
                log.line(format!(
                    "Compression complete ({} -> {})",
                    human_size(from),
                    human_size(to)
                ));
            }
            log.line("Backup completed successfully");
            log.line(format!(
                "File: {}",
                env.settings.backup_root.join(&record.file_path).display()
            ));
            log.line(format!(
                "Checksum: {}",
                record.checksum.as_ref().map_or("-", |c| c.as_str())
            ));
            Ok(())
        }
        (_, Some(error)) => {
            log.line(format!("Backup failed: {}", error.message));
            Err(CliError::new(
                exit::code_for(&error.code),
                format!("Error: {}: {}", error.code, error.message),
            ))
        }
        _ => Err(CliError::new(
            exit::FAILURE,
            format!("Error: backup {} ended as {}", record.id, record.status),
        )),
    }
}
