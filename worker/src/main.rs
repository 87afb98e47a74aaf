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
struct Args {}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Args::parse();
    nexus_worker::telemetry::init();
    let settings = Settings::load().context("cannot load the configuration")?;
    nexus_worker::run(settings, nexus_shared::signals::terminate()).await
}
