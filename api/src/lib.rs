#![forbid(unsafe_code)]
//! The Nexus Backup API server: REST under `/api/v1` (described by
//! `GET /api/v1/openapi.json`, see [`openapi`]), `/healthz`, `/metrics`.
//!
//! [`serve`] runs on a listener the caller bound, so tests start the real
//! server on `127.0.0.1:0` without going through `main`.

pub mod auth;
pub mod bootstrap;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod openapi;
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
        login_throttle: Arc::new(throttle::LoginThrottle::new(
            std::time::Duration::from_secs(15 * 60),
        )),
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

/// Serves until `shutdown` resolves, then finishes open requests. With a
/// certificate and key configured it serves HTTPS (rustls), else HTTP.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let tls = match (&state.settings.tls_cert, &state.settings.tls_key) {
        (Some(cert), Some(key)) => Some(
            axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| {
                    format!(
                        "cannot load the TLS certificate {} and key {}",
                        cert.display(),
                        key.display()
                    )
                })?,
        ),
        (None, None) => None,
        _ => anyhow::bail!("NEXUS_TLS_CERT and NEXUS_TLS_KEY go together"),
    };
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let Some(tls) = tls else {
        return axum::serve(listener, service)
            .with_graceful_shutdown(shutdown)
            .await
            .context("the HTTP server failed");
    };
    let handle = axum_server::Handle::new();
    tokio::spawn({
        let handle = handle.clone();
        async move {
            shutdown.await;
            handle.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
        }
    });
    axum_server::from_tcp_rustls(listener.into_std()?, tls)?
        .handle(handle)
        .serve(service)
        .await
        .context("the HTTPS server failed")
}

/// Whether the API will speak HTTPS with these settings.
pub fn uses_tls(settings: &Settings) -> bool {
    settings.tls_cert.is_some() && settings.tls_key.is_some()
}
