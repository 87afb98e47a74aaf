//! `list`: the catalog as a table, newest first, or as the API's list
//! shape with `--json`: `{"backups": [<backup>…], "total", "limit", "offset"}`.

use nexus_shared::catalog::BackupFilter;
use nexus_shared::fsutil::human_size;
use serde_json::json;

use super::Env;
use crate::exit::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Only this type: daily, weekly, monthly, manual, before_restore.
    #[arg(long = "type")]
    backup_type: Option<String>,
    /// Only this status: in_progress, success, failure.
    #[arg(long)]
    status: Option<String>,
    #[arg(long, default_value_t = 20)]
    limit: u32,
    #[arg(long, default_value_t = 0)]
    offset: u32,
    /// Print the list as JSON (the API's shape).
    #[arg(long)]
    json: bool,
}

pub fn run(env: &Env, args: Args) -> Result<(), CliError> {
    let filter = BackupFilter {
        backup_type: args
            .backup_type
            .map(|t| t.parse().map_err(|e| CliError::usage(format!("{e}"))))
            .transpose()?,
        status: args
            .status
            .map(|s| s.parse().map_err(CliError::usage))
            .transpose()?,
        limit: args.limit.clamp(1, 1000),
        offset: args.offset,
    };
    let (records, total) = env
        .catalog
        .list_backups(&filter)
        .map_err(anyhow::Error::from)?;
    if args.json {
        let backups: Vec<_> = records
            .iter()
            .map(|r| crate::json::backup(r, &env.settings))
            .collect();
        crate::json::print(&json!({
            "backups": backups,
            "total": total,
            "limit": filter.limit,
            "offset": filter.offset,
        }));
        return Ok(());
    }
    println!(
        "{:<36} {:<14} {:<11} {:>9}  {:<19}  BY",
        "ID", "TYPE", "STATUS", "SIZE", "STARTED"
    );
    for r in &records {
        println!(
            "{:<36} {:<14} {:<11} {:>9}  {:<19}  {}",
            r.id.to_string(),
            r.id.backup_type().as_str(),
            r.status.as_str(),
            r.file_size.map(human_size).unwrap_or_else(|| "-".into()),
            r.started_at
                .with_timezone(&env.settings.tz())
                .format("%Y-%m-%d %H:%M:%S"),
            r.created_by.username
        );
    }
    println!("({} of {total})", records.len());
    Ok(())
}
