//! Blocking work (SQLite, files, hashing, password checks) off the async
//! threads, inside the caller's tracing span: `spawn_blocking` runs its
//! closure on another thread, where `Span::current()` would otherwise be
//! empty and a log line would lose its backup id or request.

use tokio::task::{JoinError, JoinHandle};

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

    #[tokio::test]
    async fn a_panic_is_a_join_error() {
        let result = blocking(|| panic!("boom")).await;
        assert!(result.unwrap_err().is_panic());
    }
}
