//! The subcommands. Each module does one; this one parses and dispatches.

mod admin;
mod audit;
mod backup;
mod delete;
mod list;
mod prune;
mod reconcile;
mod reindex;
mod restore;
mod show;
mod status;
mod verify;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use nexus_shared::catalog::{AuditEntry, AuditResult, AuditSource, Catalog, CatalogError};
use nexus_shared::domain::CreatedBy;
use nexus_shared::queue::Queue;
use nexus_shared::runner::Outcome;
use nexus_shared::settings::{DEFAULT_CONFIG_TOML, Settings};

use crate::exit::{CliError, EXIT_CODES_HELP};

#[derive(Parser)]
#[command(
    name = "nexus-backup",
    version,
    about = "Nexus Backup: back up, verify, restore and inspect backups of itsm_nexus.db",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Take a backup (the guide's `backup.sh`): enqueue it and wait, or run
    /// it here when no worker is alive.
    #[command(after_help = EXIT_CODES_HELP)]
    Backup(backup::Args),
    /// List backups, newest first.
    List(list::Args),
    /// Show one backup and its last verification.
    Show(show::Args),
    /// Verify a backup's file (or every successful backup's) with the five checks.
    #[command(after_help = EXIT_CODES_HELP)]
    Verify(verify::Args),
    /// Delete a backup: file, manifest and record (the newest of a type and
    /// the last backup are refused).
    Delete(delete::Args),
    /// Restore a backup into the live database (with a safety backup first),
    /// or into a new file with --to; or, with --at <time> --to <path>, the
    /// database as it was at an instant (continuous replication).
    #[command(after_help = EXIT_CODES_HELP)]
    Restore(restore::Args),
    /// Delete the expired daily, weekly and monthly backups.
    Prune(prune::Args),
    /// Compare the backup folder with the catalog and report the differences.
    Reconcile(reconcile::Args),
    /// Rebuild the records of backup files the catalog lost, from their manifests.
    Reindex(reindex::Args),
    /// Storage, queue and worker status, next schedules, newest backup of each type.
    Status(status::Args),
    /// Check or export the audit trail.
    #[command(subcommand)]
    Audit(audit::Command),
    /// Create the first admin (or another user), or reset a password.
    CreateAdmin(admin::Args),
    /// Print a commented configuration file with every default.
    PrintDefaultConfig,
    /// Make a new age key for encrypting offsite copies (file mode 0600;
    /// never overwrites) and print its public key.
    OffsiteKeygen {
        /// Where to write the key, e.g. /etc/nexus/offsite.key.
        path: std::path::PathBuf,
    },
}

/// What most commands need: settings, catalog and queue.
pub struct Env {
    pub settings: Settings,
    pub catalog: Catalog,
    pub queue: Queue,
}

impl Env {
    pub async fn open() -> Result<Env, CliError> {
        let settings =
            nexus_shared::telemetry::start("warn").context("cannot load the configuration")?;
        let (catalog, queue) = nexus_shared::stores::open(&settings)
            .await
            .map_err(anyhow::Error::from)?;
        Ok(Env {
            settings,
            catalog,
            queue,
        })
    }

    /// A lease owner name unique to this run of the CLI, e.g.
    /// `cli@root:4242/01J…`, for the runners it starts in-process.
    pub fn owner() -> String {
        format!(
            "cli@{}:{}/{}",
            nexus_shared::os_user(),
            std::process::id(),
            ulid::Ulid::generate()
        )
    }

    /// Queues an alert for the next worker to mail; a failure to queue is
    /// returned as text for a warning, never as an error of the command.
    pub async fn queue_alert(&self, alert: nexus_shared::alert::Alert) -> Result<(), String> {
        self.queue
            .push(nexus_shared::queue::Job::Alert { alert }, None)
            .await
            .map(|_| ())
            .map_err(|e| format!("Warning: cannot enqueue the failure alert: {e}"))
    }

    /// Runs a runner in this process until no other runner holds its
    /// record (a dead worker's lease expires), and queues the alert of a
    /// failed run for the next worker to mail (a failure to queue is a
    /// warning, given to `warn`).
    pub async fn run_here<T>(
        &self,
        run: impl Fn() -> Result<Outcome<T>, CatalogError>,
        warn: impl Fn(String),
    ) -> Result<Outcome<T>, CliError> {
        loop {
            match tokio::task::block_in_place(&run).map_err(anyhow::Error::from)? {
                Outcome::HeldElsewhere { .. } => {
                    tokio::time::sleep(self.settings.lease_ttl() / 3).await;
                }
                Outcome::Failed(failure) => {
                    if let Err(warning) = self.queue_alert(failure.alert.clone()).await {
                        warn(warning);
                    }
                    return Ok(Outcome::Failed(failure));
                }
                other => return Ok(other),
            }
        }
    }

    /// Whether a worker has beaten its heart lately.
    pub async fn worker_alive(&self) -> Result<bool, CliError> {
        let alive = self
            .queue
            .workers_alive()
            .await
            .context("cannot read the workers' heartbeats")?;
        Ok(alive > 0)
    }
}

/// An audit entry for something the operator did from the command line:
/// the OS user is the actor.
pub fn cli_audit(action: &'static str, result: AuditResult) -> AuditEntry {
    AuditEntry {
        actor: nexus_shared::os_user(),
        ..AuditEntry::system(AuditSource::Cli, action, result)
    }
}

/// The OS user, as the requester of a verification or restore.
pub fn cli_user() -> CreatedBy {
    CreatedBy {
        id: None,
        username: nexus_shared::os_user(),
    }
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::PrintDefaultConfig => {
            print!("{DEFAULT_CONFIG_TOML}");
            Ok(())
        }
        Command::OffsiteKeygen { path } => {
            let key = nexus_shared::offsite::Key::generate(&path)
                .map_err(|e| CliError::from(anyhow::anyhow!("{e}")))?;
            println!("Key written to {} (mode 0600).", path.display());
            println!("Public key: {}", key.recipient());
            println!(
                "Set NEXUS_OFFSITE_ENCRYPTION_KEY_FILE={} and keep a copy of the key OFF this host: without it, encrypted offsite copies cannot be read.",
                path.display()
            );
            Ok(())
        }
        Command::Backup(args) => backup::run(&Env::open().await?, args).await,
        Command::List(args) => list::run(&Env::open().await?, args),
        Command::Show(args) => show::run(&Env::open().await?, args),
        Command::Verify(args) => verify::run(&Env::open().await?, args).await,
        Command::Delete(args) => delete::run(&Env::open().await?, args).await,
        Command::Restore(args) => restore::run(&Env::open().await?, args).await,
        Command::Prune(args) => prune::run(&Env::open().await?, args).await,
        Command::Reconcile(args) => reconcile::run(&Env::open().await?, args).await,
        Command::Reindex(args) => reindex::run(&Env::open().await?, args).await,
        Command::Status(args) => status::run(&Env::open().await?, args).await,
        Command::Audit(command) => audit::run(&Env::open().await?, command).await,
        Command::CreateAdmin(args) => admin::run(&Env::open().await?, args),
    }
}

/// Runs blocking catalog or file work off the async threads.
pub async fn blocking<T, F>(f: F) -> Result<T, CliError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    nexus_shared::blocking::blocking(f)
        .await
        .map_err(|e| CliError::from(anyhow::Error::from(e)))
}
