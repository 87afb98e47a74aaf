#![forbid(unsafe_code)]
//! `nexus-worker`: drains the job queue.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context as _;
use clap::Parser;

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

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings =
        nexus_shared::telemetry::start("info").context("cannot load the configuration")?;
    let options = nexus_worker::Options {
        scheduler: !args.no_scheduler,
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(nexus_worker::run(
            settings,
            options,
            nexus_shared::signals::terminate(),
        ))
}
