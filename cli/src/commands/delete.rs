//! `delete <id>`: deletes a backup's file, manifest and record with the
//! same rules as the API (SPEC §5): the newest daily, weekly or monthly
//! backup and the last backup are refused (exit 5, with the reason).
//! Audited as `backup.delete` by the OS user.

use nexus_shared::catalog::AuditResult;
use nexus_shared::retention::Refusal;
use nexus_shared::service::deletion::{DeleteError, delete_backup};

use super::show::parse_id;
use super::{Env, blocking, cli_audit};
use crate::exit::{CliError, FAILURE, PERMISSION};

#[derive(clap::Args)]
pub struct Args {
    /// A backup id, BKP-YYYYMMDD-HHMMSS-<type>.
    id: String,
}

pub async fn run(env: &Env, args: Args) -> Result<(), CliError> {
    let id = parse_id(&args.id)?;
    let (catalog, root, target) = (
        env.catalog.clone(),
        env.settings.backup_root.clone(),
        id.clone(),
    );
    let outcome = blocking(move || delete_backup(&catalog, &root, &target)).await?;
    let (result, detail) = match &outcome {
        Ok(record) => (AuditResult::Success, record.file_path.display().to_string()),
        Err(e) => (AuditResult::Failure, e.to_string()),
    };
    let entry = cli_audit("backup.delete", result)
        .target(id.to_string())
        .detail(detail);
    env.catalog
        .append_audit(&entry)
        .map_err(anyhow::Error::from)?;
    match outcome {
        Ok(record) => {
            println!(
                "Deleted backup {id} ({})",
                env.settings.backup_root.join(&record.file_path).display()
            );
            Ok(())
        }
        Err(DeleteError::NotFound(id)) => {
            Err(CliError::new(FAILURE, format!("Error: no backup {id}")))
        }
        Err(DeleteError::Refused { id, refusal }) => {
            let why = match refusal {
                Refusal::LatestOfType(t) => format!(
                    "it is the newest successful {t} backup, which is always kept; \
                     take a newer {t} backup first"
                ),
                Refusal::LastBackup => {
                    "it is the last successful backup, which is always kept".to_owned()
                }
                Refusal::InProgress => "it is still in progress; wait until it finishes".to_owned(),
            };
            Err(CliError::new(
                FAILURE,
                format!(
                    "Error: backup {id} cannot be deleted ({}): {why}",
                    refusal.code()
                ),
            ))
        }
        Err(DeleteError::Io { path, source }) => Err(CliError::new(
            if source.kind() == std::io::ErrorKind::PermissionDenied {
                PERMISSION
            } else {
                FAILURE
            },
            format!("Error: cannot remove {}: {source}", path.display()),
        )),
        Err(e @ DeleteError::Catalog(_)) => Err(anyhow::Error::from(e).into()),
    }
}
