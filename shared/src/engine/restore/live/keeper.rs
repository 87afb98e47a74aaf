//! Keeps a running restore's lease, and its lock once taken, alive.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use crate::catalog::{Catalog, LIVE_DATABASE, RestoreId};

/// Renews the restore's lease, and the lock once taken, in the background;
/// raises `lost` when the lease was taken over. Dropping it stops it and
/// releases the lock.
pub(super) struct Keeper {
    catalog: Catalog,
    owner: String,
    lost: Arc<AtomicBool>,
    pub(super) lock_held: Arc<AtomicBool>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Keeper {
    pub(super) fn start(catalog: Catalog, id: RestoreId, owner: String, ttl: Duration) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let (lost, lock_held) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let thread = std::thread::spawn({
            let (catalog, owner, lost, lock_held) = (
                catalog.clone(),
                owner.clone(),
                lost.clone(),
                lock_held.clone(),
            );
            move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(ttl / 3) {
                    match catalog.renew_restore(&id, &owner, ttl) {
                        Ok(true) => {}
                        Ok(false) => lost.store(true, Ordering::SeqCst),
                        Err(e) => tracing::warn!(error = %e, "cannot renew the restore lease"),
                    }
                    if lock_held.load(Ordering::SeqCst) {
                        match catalog.renew_lock(LIVE_DATABASE, &owner, ttl) {
                            Ok(true) => {}
                            Ok(false) => tracing::error!("the lock on the live database was lost"),
                            Err(e) => tracing::warn!(error = %e, "cannot renew the restore lock"),
                        }
                    }
                }
            }
        });
        Keeper {
            catalog,
            owner,
            lost,
            lock_held,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub(super) fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if self.lock_held.load(Ordering::SeqCst)
            && let Err(e) = self.catalog.release_lock(LIVE_DATABASE, &self.owner)
        {
            tracing::warn!(error = %e, "cannot release the restore lock; it expires by itself");
        }
    }
}
