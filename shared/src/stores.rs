//! Opening the service's own stores: the catalog and the job queue, both in
//! the data folder. Every process (api, worker, CLI) starts here.

use crate::catalog::{Catalog, CatalogError};
use crate::queue::{Queue, QueueError};
use crate::settings::Settings;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the catalog {path}: {source}")]
    Catalog {
        path: std::path::PathBuf,
        source: CatalogError,
    },
    #[error("cannot open the job queue {path}: {source}")]
    Queue {
        path: std::path::PathBuf,
        source: QueueError,
    },
}

/// Opens (creating and migrating if needed) the catalog and the queue.
pub async fn open(settings: &Settings) -> Result<(Catalog, Queue), StoreError> {
    let path = settings.catalog_path();
    let catalog = {
        let path = path.clone();
        crate::blocking::blocking(move || Catalog::open(&path))
            .await
            .map_err(|e| CatalogError::Io(std::io::Error::other(e)))
            .and_then(|opened| opened)
    }
    .map_err(|source| StoreError::Catalog { path, source })?;
    let path = settings.queue_path();
    let queue = Queue::open(&path, &settings.queue)
        .await
        .map_err(|source| StoreError::Queue { path, source })?;
    Ok((catalog, queue))
}
