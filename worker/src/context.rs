//! What every job needs: settings, catalog, queue, and this worker's name.

use std::sync::Arc;

use nexus_shared::blocking::blocking;
use nexus_shared::catalog::Catalog;
use nexus_shared::queue::Queue;
use nexus_shared::settings::Settings;

#[derive(Clone)]
pub struct JobContext {
    pub settings: Arc<Settings>,
    pub catalog: Catalog,
    pub queue: Queue,
    /// Unique per process, so a restarted worker never collides with the
    /// registration its killed predecessor left behind.
    pub worker_name: Arc<str>,
}

impl JobContext {
    pub async fn open(settings: Settings) -> anyhow::Result<JobContext> {
        let (catalog, queue) = nexus_shared::stores::open(&settings).await?;
        let host = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".into());
        let worker_name = format!(
            "nexus-worker@{host}:{}:{}",
            std::process::id(),
            ulid::Ulid::generate()
        );
        Ok(JobContext {
            settings: Arc::new(settings),
            catalog,
            queue,
            worker_name: worker_name.into(),
        })
    }

    /// Runs blocking catalog work off the async threads.
    pub async fn blocking<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Catalog) -> Result<T, nexus_shared::catalog::CatalogError> + Send + 'static,
    {
        let catalog = self.catalog.clone();
        Ok(blocking(move || f(&catalog)).await??)
    }
}
