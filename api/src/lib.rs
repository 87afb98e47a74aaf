#![forbid(unsafe_code)]
//! The Nexus Backup API server: REST under `/api/v1`, `/healthz`.
//!
//! [`serve`] runs on a listener the caller bound, so tests start the real
//! server on `127.0.0.1:0` without going through `main`.

pub mod auth;
pub mod bootstrap;
pub mod error;
pub mod extract;
pub mod routes;
pub mod state;
pub mod throttle;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use nexus_shared::settings::Settings;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::auth::JwtKeys;
pub use crate::state::AppState;

/// Request bodies are small JSON documents.
const BODY_LIMIT: usize = 64 * 1024;

/// Opens the catalog and the queue, loads the JWT keys.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    let (catalog, queue) = nexus_shared::stores::open(&settings).await?;
    let jwt = JwtKeys::load(&settings).context("cannot load the JWT secret")?;
    Ok(AppState {
        settings: Arc::new(settings),
        catalog,
        queue,
        jwt: Arc::new(jwt),
        login_throttle: Arc::new(throttle::LoginThrottle::new(std::time::Duration::from_secs(15 * 60))),
    })
}

pub fn app(state: AppState) -> Router {
    use axum::http::{HeaderName, HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer;
    let always = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    routes::router()
        .layer(axum::middleware::from_fn(error::localize))
        // Security headers on every answer; the web UI sets its own CSP.
        .layer(always(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(always(header::X_FRAME_OPTIONS, "DENY"))
        .layer(always(header::REFERRER_POLICY, "no-referrer"))
        .layer(always(header::CACHE_CONTROL, "no-store"))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until `shutdown` resolves, then finishes open requests.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("the HTTP server failed")
}
