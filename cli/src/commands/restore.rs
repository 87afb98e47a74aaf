//! `restore <id> --yes`: restores a backup into the live database (SPEC §6)
//! the way the API does: records the restore, hands it to a live worker and
//! follows it, or runs it in this process when no worker is alive. The
//! runner verifies the backup, takes a safety backup, writes the backup
//! into the live database and checks it, rolling back on failure.
//! `restore <id> --to <path>` writes the verified database to a new file
//! instead and never touches the live one.

mod live;

use std::path::PathBuf;

use nexus_shared::catalog::AuditResult;
use nexus_shared::domain::BackupStatus;
use nexus_shared::engine::restore::restore_to_path;
use nexus_shared::fsutil::human_size;

use super::show::parse_id;
use super::{Env, blocking, cli_audit};
use crate::exit::{self, CliError, FAILURE};

#[derive(clap::Args)]
pub struct Args {
    /// A backup id, BKP-YYYYMMDD-HHMMSS-<type>.
    id: String,
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
    let id = parse_id(&args.id)?;
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
