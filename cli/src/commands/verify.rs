//! `verify <id>|--all`: the five checks of SPEC §4 (file exists, size,
//! checksum, decompression, `PRAGMA integrity_check`) on a backup's file,
//! recorded in the catalog like the worker's, so the API and the Web UI
//! show the result. Runs here, whether or not a worker is alive. Exit 3
//! when a check fails. `--json`: one verification, or with `--all`
//! `{"verifications": […], "passed", "failed", "skipped"}`.

mod one;

use nexus_shared::catalog::{BackupFilter, Verification, VerificationStatus};
use nexus_shared::domain::BackupStatus;
use nexus_shared::domain::CheckStatus;
use serde_json::json;

use super::Env;
use super::show::{get, parse_id};
use crate::exit::{CliError, INTEGRITY};

#[derive(clap::Args)]
pub struct Args {
    /// A backup id, BKP-YYYYMMDD-HHMMSS-<type>.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    id: Option<String>,
    /// Verify every successful backup, newest first, going on past failures.
    #[arg(long)]
    all: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(env: &Env, args: Args) -> Result<(), CliError> {
    let ids = match &args.id {
        Some(raw) => vec![get(env, &parse_id(raw)?)?.id],
        None => {
            let filter = BackupFilter {
                status: Some(BackupStatus::Success),
                limit: u32::MAX,
                ..BackupFilter::default()
            };
            let (records, _) = env
                .catalog
                .list_backups(&filter)
                .map_err(anyhow::Error::from)?;
            records.into_iter().map(|r| r.id).collect()
        }
    };
    let mut done = Vec::new();
    let mut skipped = 0;
    for id in &ids {
        match one::verify(env, id, !args.all).await? {
            Some(v) => {
                if !args.json {
                    print(&v);
                }
                done.push(v);
            }
            None => skipped += 1,
        }
    }
    let failed = done
        .iter()
        .filter(|v| v.status != VerificationStatus::Pass)
        .count();
    let tz = env.settings.tz();
    if args.json {
        let views: Vec<_> = done
            .iter()
            .map(|v| crate::json::verification(v, tz))
            .collect();
        match (args.all, views.as_slice()) {
            (false, [one]) => crate::json::print(one),
            _ => crate::json::print(&json!({
                "verifications": views,
                "passed": done.len() - failed,
                "failed": failed,
                "skipped": skipped,
            })),
        }
    } else if args.all {
        println!(
            "{} verified: {} passed, {failed} failed, {skipped} skipped",
            done.len(),
            done.len() - failed
        );
    }
    if failed > 0 {
        let which: Vec<String> = done
            .iter()
            .filter(|v| v.status != VerificationStatus::Pass)
            .map(|v| v.backup_id.to_string())
            .collect();
        return Err(CliError::new(
            INTEGRITY,
            format!("Error: integrity check failed: {}", which.join(", ")),
        ));
    }
    Ok(())
}

fn print(v: &Verification) {
    println!(
        "Backup {}: {} ({}{})",
        v.backup_id,
        v.status.as_str().to_uppercase(),
        v.check_id,
        v.duration_ms
            .map(|ms| format!(", {ms} ms"))
            .unwrap_or_default()
    );
    for c in &v.checks {
        let status = match c.status {
            CheckStatus::Pass => "pass",
            CheckStatus::Fail => "FAIL",
            CheckStatus::Skipped => "skipped",
        };
        println!("  {:<17} {:<8} {}", c.name.as_str(), status, c.detail);
    }
}
