//! `reindex`: rebuilds the records of backup files the catalog lost (a
//! restored or replaced catalog) from their sidecar manifests. A file is
//! taken only if its name, folder, manifest and size agree. Audited.

use nexus_shared::catalog::AuditResult;
use nexus_shared::service::reconcile::reindex;

use super::{Env, blocking, cli_audit};
use crate::exit::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Print what was done as JSON: `{"restored": [<id>…], "skipped": [[<path>, <why>]…]}`.
    #[arg(long)]
    json: bool,
}

pub async fn run(env: &Env, args: Args) -> Result<(), CliError> {
    let (catalog, root) = (env.catalog.clone(), env.settings.backup_root.clone());
    let report = blocking(move || reindex(&catalog, &root))
        .await?
        .map_err(anyhow::Error::from)?;
    let summary = format!(
        "{} records rebuilt, {} files skipped",
        report.restored.len(),
        report.skipped.len()
    );
    env.catalog
        .append_audit(&cli_audit("backup.reindex", AuditResult::Success).detail(summary.clone()))
        .map_err(anyhow::Error::from)?;
    if args.json {
        crate::json::print(&serde_json::to_value(&report).map_err(anyhow::Error::from)?);
        return Ok(());
    }
    for id in &report.restored {
        println!("rebuilt the record of {id}");
    }
    for (path, why) in &report.skipped {
        println!("skipped {}: {why}", path.display());
    }
    println!("{summary}");
    Ok(())
}
