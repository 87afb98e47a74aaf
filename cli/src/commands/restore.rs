//! `restore <id> --yes`: restores a backup into the live database (SPEC §6)
//! the way the API does: records the restore, hands it to a live worker and
//! follows it, or runs it in this process when no worker is alive. The
//! runner verifies the backup, takes a safety backup, writes the backup
//! into the live database and checks it, rolling back on failure.
//! `restore <id> --to <path>` writes the verified database to a new file
//! instead and never touches the live one. `restore --at <time> --to
//! <path>` rebuilds the database as it was at that instant from the
//! replication folder (`<backup_root>/wal/`, issue 18) into a new file.

mod live;

use std::path::PathBuf;

use nexus_shared::catalog::AuditResult;
use nexus_shared::domain::BackupStatus;
use nexus_shared::engine::replica::{RestoreAtError, restore_at};
use nexus_shared::engine::restore::restore_to_path;
use nexus_shared::fsutil::human_size;

use super::show::parse_id;
use super::{Env, blocking, cli_audit};
use crate::exit::{self, CliError, FAILURE};

#[derive(clap::Args)]
pub struct Args {
    /// A backup id, BKP-YYYYMMDD-HHMMSS-<type>.
    #[arg(required_unless_present = "at", conflicts_with = "at")]
    id: Option<String>,
    /// Restore the database as it was at this instant (RFC 3339, or
    /// `YYYY-MM-DD HH:MM:SS` in the configured timezone) from the
    /// continuous replication; with --to only, for now.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Confirms a restore into the live database (required without --to).
    #[arg(long)]
    yes: bool,
    /// Restore into this new file instead of the live database; an
    /// existing file is never overwritten.
    #[arg(long, value_name = "PATH")]
    to: Option<PathBuf>,
    /// Print the finished restore as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(env: &Env, args: Args) -> Result<(), CliError> {
    if let Some(at) = &args.at {
        let Some(dest) = args.to else {
            return Err(CliError::usage(
                "Error: --at restores into a new file only, for now: add --to <path> (restoring \
                 the live database to an instant is not built yet)",
            ));
        };
        return at_instant(env, at, dest).await;
    }
    let id = parse_id(args.id.as_deref().unwrap_or_default())?;
    if args.to.is_none() && !args.yes {
        return Err(CliError::usage(format!(
            "Error: restoring {id} replaces the live database {}; repeat with --yes to confirm \
             (or use --to <path> to restore into a new file)",
            env.settings.db_path.display()
        )));
    }
    // A backup whose local record is gone may still have an offsite copy.
    let record = env.catalog.restorable_backup(&id).map_err(|e| match e {
        nexus_shared::catalog::CatalogError::NotFound => {
            CliError::new(FAILURE, format!("Error: no backup {id}"))
        }
        other => anyhow::Error::from(other).into(),
    })?;
    if record.status != BackupStatus::Success {
        return Err(CliError::new(
            FAILURE,
            format!(
                "Error: backup {id} is {}: only a successful backup can be restored",
                record.status
            ),
        ));
    }
    match args.to {
        Some(dest) => to_path(env, record, dest).await,
        None => live::run(env, &id, args.json).await,
    }
}

async fn to_path(
    env: &Env,
    record: nexus_shared::catalog::BackupRecord,
    dest: PathBuf,
) -> Result<(), CliError> {
    let Some(expected) = record.expected() else {
        return Err(CliError::new(
            FAILURE,
            format!("Error: backup {} has no checksum", record.id),
        ));
    };
    let file = env.settings.backup_root.join(&record.file_path);
    let target = dest.clone();
    let outcome = blocking(move || restore_to_path(&file, &expected, &target)).await?;
    let (result, detail) = match &outcome {
        Ok(restored) => (
            AuditResult::Success,
            format!("to {}", restored.path.display()),
        ),
        Err(e) => (AuditResult::Failure, format!("to {}: {e}", dest.display())),
    };
    env.catalog
        .append_audit(
            &cli_audit("restore.to_path", result)
                .target(record.id.to_string())
                .detail(detail),
        )
        .map_err(anyhow::Error::from)?;
    match outcome {
        Ok(restored) => {
            println!(
                "Restored {} to {} ({})",
                record.id,
                restored.path.display(),
                human_size(restored.bytes)
            );
            Ok(())
        }
        Err(e) => Err(CliError::new(
            exit::code_for_restore(&e),
            format!("Error: {}: {e}", e.code()),
        )),
    }
}

/// `--at <time> --to <path>`.
async fn at_instant(env: &Env, at: &str, dest: PathBuf) -> Result<(), CliError> {
    let instant = parse_instant(at, env.settings.tz())?;
    let wal_root = env.settings.backup_root.join("wal");
    let target = dest.clone();
    let outcome =
        blocking(move || restore_at(&wal_root, instant.timestamp_millis(), &target)).await?;
    let (result, detail) = match &outcome {
        Ok(r) => (
            AuditResult::Success,
            format!(
                "as of {} (lineage {}, {} segments) to {}",
                millis(r.replayed.as_of_ms),
                r.lineage,
                r.replayed.segments,
                r.path.display()
            ),
        ),
        Err(e) => (
            AuditResult::Failure,
            format!("{}: {e} (to {})", e.code(), dest.display()),
        ),
    };
    env.catalog
        .append_audit(
            &cli_audit("restore.point_in_time", result)
                .target(instant.to_rfc3339())
                .detail(detail),
        )
        .map_err(anyhow::Error::from)?;
    match outcome {
        Ok(r) => {
            println!(
                "Restored the database as of {} (asked: {}) to {} ({})",
                millis(r.replayed.as_of_ms).with_timezone(&env.settings.tz()),
                instant.with_timezone(&env.settings.tz()),
                r.path.display(),
                human_size(r.bytes)
            );
            Ok(())
        }
        Err(e) => {
            let code = match e {
                RestoreAtError::Corrupt(_) => exit::INTEGRITY,
                _ => FAILURE,
            };
            Err(CliError::new(code, format!("Error: {}: {e}", e.code())))
        }
    }
}

fn millis(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// RFC 3339, or a wall-clock time in `tz`.
fn parse_instant(text: &str, tz: chrono_tz::Tz) -> Result<chrono::DateTime<chrono::Utc>, CliError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let local =
        chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S").map_err(|_| {
            CliError::usage(format!(
                "Error: --at {text:?}: expected RFC 3339 (2026-12-02T14:31:07+09:00) or \
                 YYYY-MM-DD HH:MM:SS in {tz}"
            ))
        })?;
    use chrono::TimeZone;
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or_else(|| CliError::usage(format!("Error: --at {text:?} does not exist in {tz}")))
}
