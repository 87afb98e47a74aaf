//! What every handler can reach.

use std::sync::Arc;

use nexus_shared::blocking::blocking;
use nexus_shared::catalog::{Catalog, CatalogError};
use nexus_shared::queue::Queue;
use nexus_shared::settings::Settings;

use crate::auth::JwtKeys;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub catalog: Catalog,
    pub queue: Queue,
    pub jwt: Arc<JwtKeys>,
    pub login_throttle: Arc<crate::throttle::LoginThrottle>,
}

impl AppState {
    /// Runs blocking catalog work off the async threads.
    pub async fn catalog<T, F>(&self, f: F) -> Result<T, CatalogError>
    where
        T: Send + 'static,
        F: FnOnce(&Catalog) -> Result<T, CatalogError> + Send + 'static,
    {
        let catalog = self.catalog.clone();
        blocking(move || f(&catalog))
            .await
            .map_err(|e| CatalogError::Io(std::io::Error::other(e)))?
    }
}
