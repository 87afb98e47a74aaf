//! `show`: one backup, with its last finished verification; `--json`
//! gives the API's backup shape with `last_verification`.

use nexus_shared::catalog::{BackupRecord, CatalogError};
use nexus_shared::domain::BackupId;
use nexus_shared::fsutil::human_size;
use nexus_shared::views::{BackupView, CopiesView, LocalCopyView, OffsiteView, VerificationView};

use super::Env;
use crate::exit::{CliError, FAILURE};

#[derive(clap::Args)]
pub struct Args {
    /// A backup id, BKP-YYYYMMDD-HHMMSS-<type>.
    id: String,
    /// Print the backup as JSON (the API's shape).
    #[arg(long)]
    json: bool,
}

pub fn run(env: &Env, args: Args) -> Result<(), CliError> {
    let id = parse_id(&args.id)?;
    let record = get(env, &id)?;
    let last = env
        .catalog
        .last_verifications(std::slice::from_ref(&id))
        .map_err(anyhow::Error::from)?
        .remove(&id);
    let tz = env.settings.tz();
    let copies = copies(env, &record)?;
    if args.json {
        let mut view = BackupView::new(record, &env.settings.backup_root, tz).with_copies(copies);
        view.last_verification = last.map(|v| VerificationView::new(v, tz));
        crate::json::print(&crate::json::value(&view));
        return Ok(());
    }
    print_record(env, &record);
    print_copies(&copies);
    if let Some(v) = last {
        let at = v.checked_at.unwrap_or(v.started_at).with_timezone(&tz);
        println!(
            "Verified:     {} at {} ({})",
            v.status.as_str().to_uppercase(),
            at.format("%Y-%m-%d %H:%M:%S %Z"),
            v.check_id
        );
    }
    Ok(())
}

/// The local file and the offsite copy, as the API shows them.
fn copies(env: &Env, r: &BackupRecord) -> Result<CopiesView, CliError> {
    let mut copies = CopiesView::local_only(LocalCopyView::of(r, &env.settings.backup_root));
    let bucket = env.settings.offsite.bucket.as_deref().unwrap_or_default();
    copies.offsite = env
        .catalog
        .get_offsite_copy(&r.id)
        .map_err(anyhow::Error::from)?
        .map(|c| OffsiteView::new(c, bucket, env.settings.tz()));
    Ok(copies)
}

fn print_copies(copies: &CopiesView) {
    println!("Location:     {}", copies.location());
    if copies.local.state == "missing" {
        println!("Local file:   MISSING ({})", copies.local.path);
    }
    if let Some(o) = &copies.offsite {
        let lock = o
            .encrypted_to
            .as_deref()
            .map(|r| format!(", encrypted to {r}"))
            .unwrap_or_default();
        println!("Offsite:      {} {}{lock}", o.state, o.location);
        if let (Some(at), Some(result)) = (&o.checked_at, &o.check_result) {
            let result = serde_json::to_value(result).unwrap_or_default();
            println!(
                "Offsite check: {} at {at}",
                result.as_str().unwrap_or("-").to_uppercase()
            );
        }
        if let Some(e) = &o.last_error {
            println!("Offsite error: {e}");
        }
    }
}

/// A backup id from the command line, or a usage error.
pub fn parse_id(raw: &str) -> Result<BackupId, CliError> {
    BackupId::parse(raw).map_err(|e| CliError::usage(e.to_string()))
}

/// The record of `id`, or "no backup" (exit 5).
pub fn get(env: &Env, id: &BackupId) -> Result<BackupRecord, CliError> {
    env.catalog.get_backup(id).map_err(|e| match e {
        CatalogError::NotFound => CliError::new(FAILURE, format!("Error: no backup {id}")),
        other => anyhow::Error::from(other).into(),
    })
}

fn print_record(env: &Env, r: &BackupRecord) {
    let tz = env.settings.tz();
    let time = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&tz)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    };
    println!("Backup:       {}", r.id);
    println!(
        "Status:       {} ({} {}%)",
        r.status, r.phase, r.progress_percent
    );
    println!(
        "File:         {}",
        env.settings.backup_root.join(&r.file_path).display()
    );
    if let (Some(original), Some(size)) = (r.original_size, r.file_size) {
        println!(
            "Size:         {} -> {}",
            human_size(original),
            human_size(size)
        );
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
