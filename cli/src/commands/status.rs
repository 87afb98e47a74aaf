//! `status`: is the service healthy? Storage, queue, workers, newest backups.

use std::time::Duration;

use nexus_shared::catalog::BackupFilter;
use nexus_shared::domain::{BackupStatus, BackupType};
use nexus_shared::fsutil::{filesystem_usage, human_size};

use super::Env;
use crate::exit::CliError;

#[derive(clap::Args)]
pub struct Args {}

pub async fn run(env: &Env, _args: Args) -> Result<(), CliError> {
    let s = &env.settings;
    println!("Database:     {}", s.db_path.display());
    println!("Backup root:  {}", s.backup_root.display());
    match filesystem_usage(&s.backup_root) {
        Ok((total, used)) => println!(
            "Storage:      {} used of {} ({:.1}%)",
            human_size(used),
            human_size(total),
            used as f64 * 100.0 / total.max(1) as f64
        ),
        Err(e) => println!("Storage:      unknown ({e})"),
    }
    let within = Duration::from_secs(s.queue.heartbeat_secs * u64::from(s.queue.missed_heartbeats));
    let workers = env.queue.live_workers(within).await.map_err(anyhow::Error::from)?;
    let pending = env.queue.pending_jobs().await.map_err(anyhow::Error::from)?;
    println!("Workers:      {workers} alive");
    println!("Queue:        {pending} job(s) waiting or running");
    for t in BackupType::ALL {
        let filter = BackupFilter {
            backup_type: Some(t),
            status: Some(BackupStatus::Success),
            limit: 1,
            offset: 0,
        };
        let (latest, _) = env.catalog.list_backups(&filter).map_err(anyhow::Error::from)?;
        let line = latest
            .first()
            .map(|r| {
                format!(
                    "{} ({})",
                    r.id,
                    r.started_at.with_timezone(&s.tz()).format("%Y-%m-%d %H:%M:%S")
                )
            })
            .unwrap_or_else(|| "none".into());
        println!("Latest {:<15} {line}", format!("{t}:"));
    }
    Ok(())
}
