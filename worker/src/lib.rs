#![forbid(unsafe_code)]
//! The worker: drains the queue with apalis, one job kind per module under
//! [`jobs`], while the [`sweeper`] makes sure no backup record stays
//! `in_progress` after its job is gone, (unless turned off) the
//! [`scheduler`] enqueues the scheduled jobs, and (when replication is on)
//! the [`replicator`] captures the live database's transactions.

pub mod context;
pub mod jobs;
pub mod replicator;
pub mod scheduler;
pub mod sweeper;

use std::future::Future;
use std::io::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use apalis::prelude::{BackendExt, WorkerBuilder, WorkerBuilderExt};
use nexus_shared::blocking::blocking;
use nexus_shared::settings::Settings;
use tokio::sync::watch;

pub use context::JobContext;

/// How this worker process runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Run the scheduler in this process (`nexus-worker --no-scheduler`
    /// turns it off, e.g. on all but one of several workers; running it on
    /// several is safe too).
    pub scheduler: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { scheduler: true }
    }
}

/// Runs the worker until `shutdown` resolves, then lets running jobs finish.
/// A second request to stop (or 5 minutes) ends it at once: a backup cut
/// short leaves only temporary files, and another worker takes the job over.
pub async fn run(
    settings: Settings,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if settings.demo_db {
        let made = blocking({
            let (path, size) = (settings.db_path.clone(), settings.demo_db_size_mb);
            move || nexus_shared::demo::ensure(&path, size * 1_000_000)
        })
        .await?
        .context("cannot generate the demo database")?;
        if made {
            tracing::info!(path = %settings.db_path.display(), "generated a demo ITSM database");
        }
    }
    let ctx = JobContext::open(settings).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let sweeper = tokio::spawn(sweeper::run(ctx.clone(), stop_rx.clone()));
    let replicator = tokio::spawn(replicator::run(ctx.clone(), stop_rx.clone()));
    let scheduler = options
        .scheduler
        .then(|| tokio::spawn(scheduler::run(ctx.clone(), stop_rx.clone())));

    let q = &ctx.settings.queue;
    let worker = WorkerBuilder::new(ctx.worker_name.as_ref())
        .backend(
            ctx.queue
                .storage()
                .poll_with_interval(Duration::from_millis(q.poll_interval_ms)),
        )
        .concurrency(q.concurrency.max(1))
        .data(ctx.clone())
        .build(jobs::handle);

    tracing::info!(worker = %ctx.worker_name, "worker started");
    println!("nexus-worker ready ({})", ctx.worker_name);
    let _ = std::io::stdout().flush();

    let mut graceful = stop_rx.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
        // A second signal, or a drain that takes too long, ends the process.
        tokio::select! {
            _ = nexus_shared::signals::terminate() => tracing::warn!("second stop request: exiting now"),
            _ = tokio::time::sleep(Duration::from_secs(300)) => tracing::warn!("jobs did not finish in 5 minutes: exiting"),
        }
        std::process::exit(130);
    });
    worker
        .run_until(async move {
            let _ = graceful.wait_for(|stop| *stop).await;
            Ok::<(), std::io::Error>(())
        })
        .await
        .context("the worker stopped with an error")?;
    sweeper.abort();
    // It stops at the signal, after the segment it is writing.
    let _ = replicator.await;
    if let Some(scheduler) = scheduler {
        // It stopped at the signal; a slot it was firing completes first.
        let _ = scheduler.await;
    }
    tracing::info!("worker stopped");
    Ok(())
}
