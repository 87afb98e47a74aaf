//! Waiting for a backup: following the one a worker runs through the
//! catalog, or running it in this process through the same lease. Either
//! way the guide's log lines come out in the same order.

use std::time::{Duration, Instant};

use nexus_shared::catalog::{AuditSource, BackupRecord};
use nexus_shared::domain::{BackupId, BackupStatus, Phase};
use nexus_shared::engine::{EngineError, Event, Observer};
use nexus_shared::runner::{BackupRunner, Outcome, log_lines};

use super::super::Env;
use crate::exit::CliError;
use crate::log::Log;
use crate::progress::Progress;

/// Follows a backup that a worker runs, printing a line as each phase
/// starts (the integrity check runs beside the compression and is known
/// to be OK once the backup is being finalized). If the workers all go
/// away, finishes it here.
pub async fn follow(
    env: &Env,
    id: &BackupId,
    log: Log,
    progress: &Progress,
) -> Result<BackupRecord, CliError> {
    const ORDER: [Phase; 4] = [
        Phase::Snapshot,
        Phase::IntegrityCheck,
        Phase::Compress,
        Phase::Finalize,
    ];
    let snapshot = nexus_shared::engine::snapshot_name(&env.settings.backup_root, id);
    let mut printed = 0;
    let mut checked_workers_at = Instant::now();
    loop {
        let record = env.catalog.get_backup(id).map_err(anyhow::Error::from)?;
        let reached = match record.status {
            BackupStatus::Success => ORDER.len(),
            _ => ORDER
                .iter()
                .position(|p| *p == record.phase)
                .map_or(0, |i| i + 1),
        };
        while printed < reached {
            // The events the worker's engine saw on reaching this phase,
            // so the lines are the ones an in-process backup prints.
            let events = match ORDER[printed] {
                Phase::IntegrityCheck => vec![
                    Event::SnapshotTaken {
                        path: &snapshot,
                        bytes: 0,
                    },
                    Event::PhaseStarted(Phase::IntegrityCheck),
                ],
                Phase::Finalize => vec![Event::IntegrityOk],
                phase => vec![Event::PhaseStarted(phase)],
            };
            for line in events.iter().flat_map(log_lines) {
                progress.line(log, line);
            }
            printed += 1;
        }
        progress.set(record.progress_percent, record.phase.as_str());
        if record.status.is_terminal() {
            return Ok(record);
        }
        if checked_workers_at.elapsed() > Duration::from_secs(2) {
            checked_workers_at = Instant::now();
            let alive = env
                .queue
                .workers_alive()
                .await
                .map_err(anyhow::Error::from)?;
            if alive == 0 {
                progress.line(
                    log,
                    "The worker stopped: finishing the backup in this process",
                );
                return run_here(env, id, log, progress).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Prints the guide's log lines for engine events (the pre-flight lines
/// were printed already) and moves the bar.
struct Lines<'a> {
    log: Log,
    progress: &'a Progress,
}

impl Observer for Lines<'_> {
    fn event(&mut self, event: Event<'_>) -> Result<(), EngineError> {
        match event {
            Event::PhaseStarted(phase) => self
                .progress
                .set(phase.overall_percent(0.0), phase.as_str()),
            Event::Progress(phase, fraction) => self
                .progress
                .set(phase.overall_percent(fraction), phase.as_str()),
            _ => {}
        }
        if !matches!(event, Event::Preflight(_) | Event::Compressed { .. }) {
            for line in log_lines(&event) {
                self.progress.line(self.log, line);
            }
        }
        Ok(())
    }
}

/// Runs the backup in this process, through the same lease as a worker.
pub async fn run_here(
    env: &Env,
    id: &BackupId,
    log: Log,
    progress: &Progress,
) -> Result<BackupRecord, CliError> {
    let runner = BackupRunner {
        catalog: &env.catalog,
        settings: &env.settings,
        owner: Env::owner(),
        audit_source: AuditSource::Cli,
    };
    let outcome = env
        .run_here(
            || runner.run(id, &mut Lines { log, progress }),
            |warning| progress.line(log, warning),
        )
        .await?;
    if let Outcome::Succeeded(_) = outcome
        && env.settings.offsite.enabled()
    {
        // The next worker that runs makes the offsite copy.
        let job = nexus_shared::queue::Job::Offsite {
            backup_id: id.clone(),
        };
        if let Err(e) = env.queue.push(job, Some(&format!("offsite:{id}"))).await {
            progress.line(log, format!("WARN: cannot queue the offsite copy: {e}"));
        }
    }
    Ok(env.catalog.get_backup(id).map_err(anyhow::Error::from)?)
}
