//! `status`: is the service healthy? Storage, queue, workers, the next
//! run of each schedule and the newest backup of each type. `--json`:
//! `{"database", "backup_root", "storage": {total_bytes, used_bytes,
//! available_bytes, used_percent} | null, "workers_alive", "worker_alive",
//! "queue_depth", "schedules": [{name, next_run}…], "latest": {<type>:
//! <backup> | null}}`.

use chrono::Utc;
use nexus_shared::catalog::BackupFilter;
use nexus_shared::domain::{BackupStatus, BackupType};
use nexus_shared::fsutil::{disk_usage, human_size};
use nexus_shared::schedule::Schedule;
use serde_json::{Map, Value, json};

use super::Env;
use crate::exit::CliError;
use crate::json::local_time;

#[derive(clap::Args)]
pub struct Args {
    /// Print the status as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(env: &Env, args: Args) -> Result<(), CliError> {
    let s = &env.settings;
    let tz = s.tz();
    let storage = disk_usage(&s.backup_root);
    let workers = env
        .queue
        .workers_alive()
        .await
        .map_err(anyhow::Error::from)?;
    let pending = env
        .queue
        .pending_jobs()
        .await
        .map_err(anyhow::Error::from)?;
    let now = Utc::now();
    let schedules: Vec<(&str, Option<String>)> = Schedule::all(&s.schedule)
        .iter()
        .map(|sc| {
            (
                sc.name,
                sc.next_run(now, tz).map(|t| local_time(t.to_utc(), tz)),
            )
        })
        .collect();
    let mut latest = Vec::new();
    for t in BackupType::ALL {
        let filter = BackupFilter {
            backup_type: Some(t),
            status: Some(BackupStatus::Success),
            limit: 1,
            offset: 0,
        };
        let (records, _) = env
            .catalog
            .list_backups(&filter)
            .map_err(anyhow::Error::from)?;
        latest.push((t, records.into_iter().next()));
    }

    if args.json {
        let latest: Map<String, Value> = latest
            .iter()
            .map(|(t, r)| {
                let value = r.as_ref().map(|r| crate::json::backup(r, s));
                (t.as_str().to_owned(), value.unwrap_or_default())
            })
            .collect();
        let schedules: Vec<Value> = schedules
            .iter()
            .map(|(name, next)| json!({ "name": name, "next_run": next }))
            .collect();
        crate::json::print(&json!({
            "database": s.db_path.display().to_string(),
            "backup_root": s.backup_root.display().to_string(),
            "storage": storage.ok(),
            "workers_alive": workers,
            "worker_alive": workers > 0,
            "queue_depth": pending,
            "schedules": schedules,
            "latest": latest,
        }));
        return Ok(());
    }

    println!("Database:     {}", s.db_path.display());
    println!("Backup root:  {}", s.backup_root.display());
    match storage {
        Ok(u) => println!(
            "Storage:      {} used of {} ({:.1}%), {} available",
            human_size(u.used_bytes),
            human_size(u.total_bytes),
            u.used_percent,
            human_size(u.available_bytes)
        ),
        Err(e) => println!("Storage:      unknown ({e})"),
    }
    println!(
        "Workers:      {workers} alive{}",
        if workers == 0 {
            " (backups run in the CLI; nothing runs on schedule)"
        } else {
            ""
        }
    );
    println!("Queue:        {pending} job(s) waiting or running");
    println!("Next runs:");
    for (name, next) in &schedules {
        println!("  {:<14} {}", name, next.as_deref().unwrap_or("off"));
    }
    for (t, record) in &latest {
        let line = record.as_ref().map_or_else(
            || "none".to_owned(),
            |r| {
                format!(
                    "{} ({})",
                    r.id,
                    r.started_at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S")
                )
            },
        );
        println!("Latest {:<15} {line}", format!("{t}:"));
    }
    Ok(())
}
