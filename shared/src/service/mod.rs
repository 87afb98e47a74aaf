//! Operations several front ends share (the API, the scheduler, the worker
//! and the CLI), each written once: asking for a backup, deleting one,
//! pruning expired ones, and reconciling the catalog with the backup folder.

pub mod deletion;
pub mod offsite;
pub mod prune;
pub mod reconcile;
pub mod relief;
pub mod request;

use crate::catalog::{Catalog, CatalogError};

/// Runs blocking catalog work off the async threads.
async fn blocking<T, F>(catalog: &Catalog, f: F) -> Result<T, CatalogError>
where
    T: Send + 'static,
    F: FnOnce(&Catalog) -> Result<T, CatalogError> + Send + 'static,
{
    let catalog = catalog.clone();
    crate::blocking::blocking(move || f(&catalog))
        .await
        .map_err(|e| CatalogError::Io(std::io::Error::other(e)))?
}

#[cfg(test)]
mod tests;
