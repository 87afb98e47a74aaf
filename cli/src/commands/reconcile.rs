//! `reconcile`: compares the backup folder with the catalog (SPEC §5):
//! backup files no record describes, successful records whose file is
//! gone, deletions a crash interrupted (finished now). The report is stored
//! where the API shows it, and audited. `--json` prints the report.

use chrono::Utc;
use nexus_shared::catalog::AuditResult;
use nexus_shared::service::reconcile::reconcile;
use serde_json::json;

use super::{Env, blocking, cli_audit};
use crate::exit::CliError;
use crate::json::local_time;

#[derive(clap::Args)]
pub struct Args {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(env: &Env, args: Args) -> Result<(), CliError> {
    let (catalog, root) = (env.catalog.clone(), env.settings.backup_root.clone());
    let report = blocking(move || reconcile(&catalog, &root, Utc::now()))
        .await?
        .map_err(anyhow::Error::from)?;
    let summary = format!(
        "{} orphan files, {} missing files, {} interrupted deletions finished",
        report.orphan_files.len(),
        report.missing_files.len(),
        report.finished_deletions.len()
    );
    env.catalog
        .append_audit(&cli_audit("backup.reconcile", AuditResult::Success).detail(summary.clone()))
        .map_err(anyhow::Error::from)?;
    let root = &env.settings.backup_root;
    if args.json {
        let path = |p: &std::path::Path| root.join(p).display().to_string();
        crate::json::print(&json!({
            "orphan_files": report.orphan_files.iter().map(|o| json!({
                "file_path": path(&o.path),
                "backup_id": o.backup_id,
                "file_size": o.size,
                "has_manifest": o.has_manifest,
            })).collect::<Vec<_>>(),
            "missing_files": report.missing_files.iter().map(|m| json!({
                "backup_id": m.backup_id,
                "file_path": path(&m.path),
            })).collect::<Vec<_>>(),
            "finished_deletions": report.finished_deletions,
            "checked_at": local_time(report.checked_at, env.settings.tz()),
        }));
        return Ok(());
    }
    for o in &report.orphan_files {
        println!(
            "orphan file:   {}{}",
            root.join(&o.path).display(),
            if o.has_manifest {
                " (has a manifest: `reindex` can restore its record)"
            } else {
                ""
            }
        );
    }
    for m in &report.missing_files {
        println!(
            "missing file:  {} ({})",
            root.join(&m.path).display(),
            m.backup_id
        );
    }
    for id in &report.finished_deletions {
        println!("finished deletion of {id}");
    }
    println!("{summary}");
    Ok(())
}
