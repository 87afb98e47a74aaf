//! The subcommands. Each module does one; this one parses and dispatches.

mod admin;
mod backup;
mod list;
mod status;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use nexus_shared::catalog::Catalog;
use nexus_shared::queue::Queue;
use nexus_shared::settings::{DEFAULT_CONFIG_TOML, Settings};

use crate::exit::{CliError, EXIT_CODES_HELP};

#[derive(Parser)]
#[command(
    name = "nexus-backup",
    version,
    about = "Nexus Backup: back up, list and inspect backups of itsm_nexus.db",
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
    List(list::ListArgs),
    /// Show one backup.
    Show(list::ShowArgs),
    /// Storage, queue and worker status, and the newest backup of each type.
    Status(status::Args),
    /// Create the first admin (or another user), or reset a password.
    CreateAdmin(admin::Args),
    /// Print a commented configuration file with every default.
    PrintDefaultConfig,
}

/// What most commands need: settings, catalog and queue.
pub struct Env {
    pub settings: Settings,
    pub catalog: Catalog,
    pub queue: Queue,
}

impl Env {
    pub async fn open() -> Result<Env, CliError> {
        let settings = Settings::load().context("cannot load the configuration")?;
        let catalog = Catalog::open(&settings.catalog_path())
            .with_context(|| format!("cannot open the catalog {}", settings.catalog_path().display()))?;
        let queue = Queue::open(&settings.queue_path(), &settings.queue)
            .await
            .context("cannot open the job queue")?;
        Ok(Env {
            settings,
            catalog,
            queue,
        })
    }
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::PrintDefaultConfig => {
            print!("{DEFAULT_CONFIG_TOML}");
            Ok(())
        }
        Command::Backup(args) => backup::run(&Env::open().await?, args).await,
        Command::List(args) => list::list(&Env::open().await?, args),
        Command::Show(args) => list::show(&Env::open().await?, args),
        Command::Status(args) => status::run(&Env::open().await?, args).await,
        Command::CreateAdmin(args) => admin::run(&Env::open().await?, args),
    }
}
