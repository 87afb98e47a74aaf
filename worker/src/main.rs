#![forbid(unsafe_code)]
//! `nexus-worker`: drains the job queue.

use anyhow::Context as _;
use clap::Parser;
use nexus_shared::settings::Settings;

#[derive(Parser)]
#[command(
    name = "nexus-worker",
    version,
    about = "Nexus Backup worker: runs the jobs of the queue"
)]
struct Args {
    /// Do not run the scheduler in this process; only drain the queue.
    #[arg(long)]
    no_scheduler: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    nexus_worker::telemetry::init();
    let settings = Settings::load().context("cannot load the configuration")?;
    let options = nexus_worker::Options {
        scheduler: !args.no_scheduler,
    };
    nexus_worker::run(settings, options, nexus_shared::signals::terminate()).await
}
