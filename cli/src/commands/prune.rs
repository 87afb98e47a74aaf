//! `prune [--dry-run]`: deletes the expired daily, weekly and monthly
//! backups under the configured retention (SPEC §2), each through the
//! deletion rules; `--dry-run` lists what would go. `--json` with
//! `--dry-run` gives the API's shape: `{"dry_run": true, "checked_at",
//! "would_delete": [{backup_id, backup_type, status, started_at, file_path,
//! retention, expired_before}…]}`.

use chrono::Utc;
use nexus_shared::catalog::AuditResult;
use nexus_shared::service::prune::{PRUNED_TYPES, preview, preview_document, prune};

use super::{Env, blocking, cli_audit};
use crate::exit::{CliError, FAILURE};

#[derive(clap::Args)]
pub struct Args {
    /// List what would be deleted, delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// With --dry-run: print the list as JSON.
    #[arg(long, requires = "dry_run")]
    json: bool,
}

pub async fn run(env: &Env, args: Args) -> Result<(), CliError> {
    let now = Utc::now();
    let tz = env.settings.tz();
    if args.dry_run {
        let expired = preview(&env.catalog, &env.settings, now, &PRUNED_TYPES)
            .map_err(anyhow::Error::from)?;
        if args.json {
            crate::json::print(&serde_json::json!(preview_document(
                &expired,
                &env.settings,
                now
            )));
            return Ok(());
        }
        for e in &expired {
            println!(
                "would delete {} (older than {}, started {})",
                e.record.id,
                e.period,
                e.record
                    .started_at
                    .with_timezone(&tz)
                    .format("%Y-%m-%d %H:%M:%S")
            );
        }
        println!("{} backup(s) would be deleted (dry run)", expired.len());
        return Ok(());
    }

    let (catalog, settings) = (env.catalog.clone(), env.settings.clone());
    let audit = cli_audit("backup.delete", AuditResult::Success);
    let outcome = blocking(move || prune(&catalog, &settings, now, &PRUNED_TYPES, &audit))
        .await?
        .map_err(anyhow::Error::from)?;
    for e in &outcome.deleted {
        println!("deleted {} (older than {})", e.record.id, e.period);
    }
    for (id, why) in &outcome.kept {
        println!("kept {id}: {why}");
    }
    println!(
        "{} backup(s) deleted, {} kept",
        outcome.deleted.len(),
        outcome.kept.len()
    );
    if outcome.kept.is_empty() {
        Ok(())
    } else {
        Err(CliError::new(
            FAILURE,
            "Error: some expired backups could not be deleted",
        ))
    }
}
