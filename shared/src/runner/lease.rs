//! The one lease keeper of every run: renews the run's lease in the
//! background (through steps that report no progress, such as the
//! integrity check of a large database) and raises [`LeaseKeeper::lost`]
//! when another runner has taken it over. Stops when dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use crate::catalog::CatalogError;

pub struct LeaseKeeper {
    lost: Arc<AtomicBool>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LeaseKeeper {
    /// Calls `renew` every third of `ttl` until dropped. `renew` answers
    /// whether the lease is still this run's; `what` names the lease in
    /// the warnings of a failed renewal.
    pub fn start(
        what: &'static str,
        ttl: Duration,
        mut renew: impl FnMut() -> Result<bool, CatalogError> + Send + 'static,
    ) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let lost = Arc::new(AtomicBool::new(false));
        let span = tracing::Span::current();
        let thread = std::thread::spawn({
            let lost = lost.clone();
            move || {
                let _entered = span.enter();
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(ttl / 3) {
                    match renew() {
                        Ok(true) => {}
                        Ok(false) => lost.store(true, Ordering::SeqCst),
                        Err(e) => tracing::warn!(error = %e, "cannot renew the {what} lease"),
                    }
                }
            }
        });
        LeaseKeeper {
            lost,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Whether another runner has taken the lease over.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn a_keeper_renews_until_dropped_and_says_when_the_lease_is_lost() {
        let renewals = Arc::new(AtomicU32::new(0));
        let keeper = LeaseKeeper::start("test", Duration::from_millis(30), {
            let renewals = renewals.clone();
            move || Ok(renewals.fetch_add(1, Ordering::SeqCst) < 2)
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !keeper.lost() {
            assert!(
                std::time::Instant::now() < deadline,
                "the lease never read as lost"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(keeper);
        let after_drop = renewals.load(Ordering::SeqCst);
        assert!(after_drop >= 3, "renewed {after_drop} times");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            renewals.load(Ordering::SeqCst),
            after_drop,
            "renewed after drop"
        );
    }
}
