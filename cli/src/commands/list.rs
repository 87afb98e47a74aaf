//! `list` and `show`: the catalog as a table, or as JSON for scripts.

use nexus_shared::catalog::{BackupFilter, BackupRecord, CatalogError};
use nexus_shared::domain::BackupId;
use nexus_shared::fsutil::human_size;

use super::Env;
use crate::exit::{CliError, FAILURE};

#[derive(clap::Args)]
pub struct ListArgs {
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
}

#[derive(clap::Args)]
pub struct ShowArgs {
    /// A backup id, BKP-YYYYMMDD-HHMMSS-<type>.
    id: String,
}

pub fn list(env: &Env, args: ListArgs) -> Result<(), CliError> {
    let filter = BackupFilter {
        backup_type: args
            .backup_type
            .map(|t| t.parse().map_err(|e| CliError::usage(format!("{e}"))))
            .transpose()?,
        status: args.status.map(|s| s.parse().map_err(CliError::usage)).transpose()?,
        limit: args.limit.clamp(1, 1000),
        offset: args.offset,
    };
    let (records, total) = env.catalog.list_backups(&filter).map_err(anyhow::Error::from)?;
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
            r.started_at.with_timezone(&env.settings.tz()).format("%Y-%m-%d %H:%M:%S"),
            r.created_by.username
        );
    }
    println!("({} of {total})", records.len());
    Ok(())
}

pub fn show(env: &Env, args: ShowArgs) -> Result<(), CliError> {
    let id = BackupId::parse(&args.id).map_err(|e| CliError::usage(e.to_string()))?;
    let record = env.catalog.get_backup(&id).map_err(|e| match e {
        CatalogError::NotFound => CliError::new(FAILURE, format!("Error: no backup {id}")),
        other => anyhow::Error::from(other).into(),
    })?;
    print_record(env, &record);
    Ok(())
}

pub fn print_record(env: &Env, r: &BackupRecord) {
    let tz = env.settings.tz();
    let time = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S %Z").to_string();
    println!("Backup:       {}", r.id);
    println!("Status:       {} ({} {}%)", r.status, r.phase, r.progress_percent);
    println!("File:         {}", env.settings.backup_root.join(&r.file_path).display());
    if let (Some(original), Some(size)) = (r.original_size, r.file_size) {
        println!("Size:         {} -> {}", human_size(original), human_size(size));
    }
    if let Some(checksum) = &r.checksum {
        println!("Checksum:     {checksum}");
    }
    println!("Created by:   {}", r.created_by.username);
    println!("Started:      {}", time(r.started_at));
    if let Some(done) = r.completed_at {
        println!("Completed:    {}", time(done));
    }
    if let Some(d) = &r.description {
        println!("Description:  {d}");
    }
    if let Some(e) = &r.error {
        println!("Error:        {}: {}", e.code, e.message);
    }
}
