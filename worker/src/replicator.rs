//! The replicator (issue 18): a supervised task of the worker, not a queue
//! job. It holds the catalog lease [`REPLICATION`] so that only one worker
//! captures the live database, opens a lineage under
//! `<backup_root>/wal/<lineage>/` with a base copy, and then, every
//! `[replication] interval_ms`, writes what the application committed as
//! the next segment ([`nexus_shared::engine::tap`] says how nothing is
//! missed). A database not in WAL mode is said so once, and looked at
//! again every minute; the full backups go on either way.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nexus_shared::blocking::background;
use nexus_shared::catalog::{Catalog, LockOutcome};
use nexus_shared::engine::replica::{self, LineageDir, ReplicaError};
use nexus_shared::engine::tap::{Look, Step, Tap, TapError};
use nexus_shared::runner::LeaseKeeper;
use nexus_shared::settings::ReplicationSettings;
use tokio::sync::watch;

use crate::JobContext;

/// The catalog lock of the one replicator of the live database.
pub const REPLICATION: &str = "replication";
/// How long to wait before looking again at a database that is not in WAL
/// mode, or after a failure.
const NOT_WAL_PAUSE: Duration = Duration::from_secs(60);
const FAILURE_PAUSE: Duration = Duration::from_secs(5);
/// How often the WAL is looked at while the tap holds nothing…
const UNHELD_POLL: Duration = Duration::from_millis(5);
/// …and checkpointed again.
const NUDGE_EVERY: Duration = Duration::from_millis(20);

/// Runs the replicator until `stop`, when replication is on.
pub async fn run(ctx: JobContext, mut stop: watch::Receiver<bool>) {
    if !ctx.settings.replication.enabled {
        return;
    }
    let stopping = Arc::new(AtomicBool::new(false));
    let replicator = Replicator {
        catalog: ctx.catalog.clone(),
        live: ctx.settings.db_path.clone(),
        wal_root: ctx.settings.backup_root.join("wal"),
        owner: format!("{}/replicator", ctx.worker_name),
        ttl: ctx.settings.lease_ttl(),
        settings: ctx.settings.replication.clone(),
        stopping: stopping.clone(),
    };
    // At `queue.nice`, as backups: the base it writes takes every core for
    // a moment, and its captures may lag a little behind a busy machine
    // rather than slow the application.
    let nice = ctx.settings.queue.nice;
    let watcher = tokio::spawn({
        let stopping = stopping.clone();
        async move {
            let _ = stop.wait_for(|s| *s).await;
            stopping.store(true, Ordering::SeqCst);
        }
    });
    // Supervised: a replicator that panicked starts again (a new lineage).
    loop {
        let run = background("replicator", nice, {
            let replicator = replicator.clone();
            move || replicator.run()
        })
        .await;
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        if let Err(e) = run {
            tracing::error!(error = %e, "the replicator stopped unexpectedly; it starts again in 5 s");
        }
        tokio::time::sleep(FAILURE_PAUSE).await;
    }
    watcher.abort();
}

#[derive(Clone)]
struct Replicator {
    catalog: Catalog,
    live: PathBuf,
    wal_root: PathBuf,
    owner: String,
    ttl: Duration,
    settings: ReplicationSettings,
    stopping: Arc<AtomicBool>,
}

impl Replicator {
    fn run(&self) {
        let mut told_held = false;
        let mut told_not_wal = false;
        while !self.stopped() {
            match self
                .catalog
                .acquire_lock(REPLICATION, &self.owner, self.ttl)
            {
                Ok(LockOutcome::Acquired) => {}
                Ok(LockOutcome::HeldBy { owner }) => {
                    if !told_held {
                        tracing::info!(holder = %owner, "another worker replicates the database");
                        told_held = true;
                    }
                    self.pause(self.ttl / 2);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take the replication lease");
                    self.pause(FAILURE_PAUSE);
                    continue;
                }
            }
            told_held = false;
            // Renewed on a thread of its own, so that a long base (gigabytes
            // at a low priority) does not let the lease lapse meanwhile.
            let keeper = LeaseKeeper::start("replication", self.ttl, {
                let (catalog, owner, ttl) = (self.catalog.clone(), self.owner.clone(), self.ttl);
                move || catalog.renew_lock(REPLICATION, &owner, ttl)
            });
            let resumed = replica::resume(&self.wal_root, &self.live, self.settings.checkpoint_frames)
                .inspect(|r| {
                    if let Some((_, lineage)) = r {
                        tracing::info!(live = %self.live.display(), lineage = %lineage.lineage, "replicating the database: going on with the lineage it stopped in");
                    }
                })
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "cannot go on with the last lineage: starting a new one");
                    None
                });
            let started = match resumed {
                Some(resumed) => Ok(resumed),
                None => database_id(&self.wal_root).and_then(|id| {
                    let started = replica::start(
                        &self.wal_root,
                        &self.live,
                        id,
                        self.settings.checkpoint_frames,
                        now_ms(),
                    )?;
                    tracing::info!(live = %self.live.display(), lineage = %started.1.lineage, dir = %started.1.dir.display(), "replicating the database: base written");
                    self.prune();
                    Ok(started)
                }),
            };
            match started {
                Ok((mut tap, lineage)) => {
                    told_not_wal = false;
                    let followed = self.follow(&mut tap, &lineage, &keeper);
                    if self.stopped() && followed.is_ok() {
                        match lineage.save(&tap) {
                            Ok(()) => {
                                tracing::info!(lineage = %lineage.lineage, "replication stopped; its state is kept for the next start")
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "cannot keep the replication state: the next start writes a new base")
                            }
                        }
                    }
                    match followed {
                        Ok(()) => {}
                        // A restore, a VACUUM: a base holds it better than
                        // a segment in memory.
                        Err(ReplicaError::Tap(e @ TapError::Oversized { .. })) => {
                            tracing::info!(lineage = %lineage.lineage, "{e}");
                        }
                        Err(e) => {
                            tracing::error!(error = %e, lineage = %lineage.lineage, "replication stopped; a new lineage starts");
                            self.pause(FAILURE_PAUSE);
                        }
                    }
                }
                Err(ReplicaError::Tap(TapError::NotWal(mode))) => {
                    if !told_not_wal {
                        tracing::warn!(live = %self.live.display(), journal_mode = %mode, "the database is not in WAL mode: continuous replication is off for it (its journal mode is left as it is); full backups go on");
                        told_not_wal = true;
                    }
                    drop(keeper);
                    self.release();
                    self.pause(NOT_WAL_PAUSE);
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot start replicating the database");
                    drop(keeper);
                    self.release();
                    self.pause(FAILURE_PAUSE);
                }
            }
        }
        self.release();
    }

    /// Writes the lineage's segments until stopped, the lease is lost or
    /// something fails.
    fn follow(
        &self,
        tap: &mut Tap,
        lineage: &LineageDir,
        keeper: &LeaseKeeper,
    ) -> Result<(), ReplicaError> {
        let interval = Duration::from_millis(self.settings.interval_ms);
        let base_every =
            i64::try_from(self.settings.base_every_hours * 3_600_000).unwrap_or(i64::MAX);
        while !self.stopped() {
            if keeper.lost() {
                tracing::warn!("the replication lease was lost: stopping");
                return Ok(());
            }
            if now_ms() - lineage.taken_ms >= base_every {
                tracing::info!(lineage = %lineage.lineage, "the lineage is {} h old: a new one starts", self.settings.base_every_hours);
                return Ok(());
            }
            let started = Instant::now();
            let checked_ms = now_ms();
            if let Step::Segments(segments) = tap.step(checked_ms)? {
                for segment in &segments {
                    let path = lineage.write_segment(segment)?;
                    tracing::debug!(sequence = segment.header.sequence, pages = segment.pages.len(), path = %path.display(), "segment written");
                }
            }
            let status = replica::Status {
                lineage: lineage.lineage.to_string(),
                checked_ms,
                sequence: tap.state().sequence,
            };
            if let Err(e) = replica::write_status(&self.wal_root, &status) {
                tracing::warn!(error = %e, "cannot write the replication status");
            }
            // While the tap holds nothing the WAL may start over at any
            // commit: look often, so the old generation's last frames are
            // still in the file when the tap comes back to read them, and
            // checkpoint now and then, so that it can start over at all.
            let mut nudged = Instant::now();
            while !tap.holding() && !self.stopped() && started.elapsed() < interval {
                if tap.look()? == Look::NewGeneration {
                    break;
                }
                if nudged.elapsed() >= NUDGE_EVERY {
                    tap.nudge()?;
                    nudged = Instant::now();
                }
                std::thread::sleep(UNHELD_POLL);
            }
            if tap.holding() {
                self.pause(interval.saturating_sub(started.elapsed()));
            }
        }
        Ok(())
    }

    /// Deletes the lineages only instants older than `keep_days` need.
    fn prune(&self) {
        let keep_from =
            now_ms() - i64::try_from(self.settings.keep_days * 86_400_000).unwrap_or(i64::MAX / 2);
        match replica::prune(&self.wal_root, keep_from) {
            Ok(removed) => {
                for dir in removed {
                    tracing::info!(dir = %dir.display(), keep_days = self.settings.keep_days, "old replication lineage deleted");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot prune old replication lineages"),
        }
    }

    fn stopped(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Sleeps up to `how_long`, waking early when stopped.
    fn pause(&self, how_long: Duration) {
        let until = Instant::now() + how_long;
        while !self.stopped() && Instant::now() < until {
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
        }
    }

    fn release(&self) {
        if let Err(e) = self.catalog.release_lock(REPLICATION, &self.owner) {
            tracing::debug!(error = %e, "cannot release the replication lease; it expires by itself");
        }
    }
}

/// The live database's id in its segments: made once, kept in
/// `<wal_root>/database-id`.
fn database_id(wal_root: &Path) -> Result<ulid::Ulid, ReplicaError> {
    let path = wal_root.join("database-id");
    let io = |source| ReplicaError::Io {
        context: "cannot keep the database id in",
        path: path.clone(),
        source,
    };
    nexus_shared::fsutil::create_private_dir(wal_root).map_err(io)?;
    match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().parse().map_err(|_| ReplicaError::Broken {
            dir: wal_root.to_path_buf(),
            detail: format!("{} is not a ULID", path.display()),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = ulid::Ulid::generate();
            let temp = wal_root.join(".database-id.tmp");
            std::fs::write(&temp, format!("{id}\n"))
                .and_then(|()| std::fs::rename(&temp, &path))
                .and_then(|()| nexus_shared::fsutil::sync_dir(wal_root))
                .map_err(io)?;
            Ok(id)
        }
        Err(e) => Err(io(e)),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
