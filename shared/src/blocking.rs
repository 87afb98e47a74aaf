//! Blocking work (SQLite, files, hashing, password checks) off the async
//! threads, inside the caller's tracing span: `spawn_blocking` runs its
//! closure on another thread, where `Span::current()` would otherwise be
//! empty and a log line would lose its backup id or request.

use tokio::task::{JoinError, JoinHandle};

/// Why work given to [`background`] has no result.
#[derive(Debug, thiserror::Error)]
pub enum BackgroundError {
    #[error("cannot start a thread for background work: {0}")]
    Spawn(std::io::Error),
    #[error("the background work panicked")]
    Panicked,
}

/// Runs `f` on tokio's blocking pool, inside the current span; the result,
/// or the `JoinError` of a closure that panicked.
pub async fn blocking<T, F>(f: F) -> Result<T, JoinError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    spawn(f).await
}

/// [`blocking`] without waiting: the task's handle, for work that runs
/// beside the caller (a producer feeding a channel).
pub fn spawn<T, F>(f: F) -> JoinHandle<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
}

/// Runs `f` on a thread of its own, named `name`, inside the current span,
/// at `nice` steps below the caller's CPU priority. Linux keeps a nice
/// value per thread and a new thread starts with its creator's, so every
/// thread `f` starts (compressors, the integrity check) runs at it too,
/// and the lowered priority ends with the thread: the caller's threads
/// keep theirs. A nice value that cannot be set is logged and the work
/// runs at the caller's priority.
pub async fn background<T, F>(name: &str, nice: u8, f: F) -> Result<T, BackgroundError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let span = tracing::Span::current();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            span.in_scope(|| {
                if nice > 0
                    && let Err(e) = rustix::process::nice(i32::from(nice))
                {
                    tracing::warn!(error = %e, nice, "cannot lower this work's CPU priority");
                }
                // The receiver is gone only if the caller stopped waiting.
                let _ = tx.send(f());
            })
        })
        .map_err(BackgroundError::Spawn)?;
    // A panic drops the sender without a value.
    rx.await.map_err(|_| BackgroundError::Panicked)
}

#[cfg(test)]
mod tests {
    use tracing::Instrument as _;

    use super::*;

    fn current_span_name() -> Option<&'static str> {
        tracing::Span::current().metadata().map(|m| m.name())
    }

    #[tokio::test]
    async fn the_closure_runs_in_the_callers_span() {
        // The blocking thread asks the global subscriber for the current span.
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        let (plain, carried) = async {
            let plain = tokio::task::spawn_blocking(current_span_name)
                .await
                .unwrap();
            (plain, blocking(current_span_name).await.unwrap())
        }
        .instrument(tracing::info_span!("request"))
        .await;
        assert_eq!(plain, None, "spawn_blocking alone loses the span");
        assert_eq!(carried, Some("request"));
    }

    /// The nice value of the calling thread (field 19 of its `stat`, after
    /// the command's closing parenthesis).
    fn own_nice() -> i64 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        after_name.split(' ').nth(19 - 3).unwrap().parse().unwrap()
    }

    #[tokio::test]
    async fn background_work_and_the_threads_it_starts_run_lower_and_the_caller_keeps_its_priority()
    {
        let before = own_nice();
        let (inside, started, name) = background("nice-test", 7, || {
            let started = std::thread::spawn(own_nice).join().unwrap();
            let name = std::thread::current().name().map(str::to_owned);
            (own_nice(), started, name)
        })
        .await
        .unwrap();
        assert_eq!(inside, (before + 7).min(19));
        assert_eq!(started, inside);
        assert_eq!(name.as_deref(), Some("nice-test"));
        assert_eq!(own_nice(), before, "the caller's thread is not lowered");
        let on_the_pool = blocking(own_nice).await.unwrap();
        assert_eq!(on_the_pool, before, "nor are the blocking pool's threads");
    }

    #[tokio::test]
    async fn background_work_that_panics_is_an_error_not_a_hang() {
        let result = background("panic-test", 0, || panic!("boom")).await;
        assert!(matches!(result, Err(BackgroundError::Panicked)));
    }

    #[tokio::test]
    async fn a_panic_is_a_join_error() {
        let result = blocking(|| panic!("boom")).await;
        assert!(result.unwrap_err().is_panic());
    }
}
