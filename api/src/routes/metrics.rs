//! `GET /metrics`: the Prometheus scrape (SPEC §11). Every figure is read
//! at scrape time from the catalog, the queue and the backup filesystem;
//! see [`crate::metrics`] for what is served. Any signed-in user may read
//! it, and so may a scraper with the `metrics_token`.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::storage::backup_filesystem_usage;
use crate::auth::MetricsReader;
use crate::error::{ApiError, ErrorBody};
use crate::metrics::{CONTENT_TYPE, Replication, Scrape, render};
use crate::state::AppState;
use nexus_shared::blocking::blocking;
use nexus_shared::engine::replica;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// The Prometheus scrape
///
/// The text exposition format, every figure read at scrape time from the
/// catalog, the queue and the backup filesystem (the README lists them).
/// Any signed-in user's token, or the `metrics_token` (`NEXUS_METRICS_TOKEN`)
/// so a Prometheus server needs no user account.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "service",
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("viewer"))),
    responses(
        (status = 200, description = "The scrape", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
        (status = 503, description = "`queue_unavailable`: the job queue does not answer", body = ErrorBody),
    )
)]
async fn metrics(
    State(state): State<AppState>,
    _reader: MetricsReader,
) -> Result<impl IntoResponse, ApiError> {
    let figures = state.catalog(|c| c.figures()).await?;
    let jobs = state.queue.job_counts().await?;
    let workers_alive = state.queue.workers_alive().await?;
    // A filesystem that cannot be read leaves its figure out (an alert on
    // its absence tells), rather than failing the whole scrape.
    let storage_used_ratio = match backup_filesystem_usage(&state).await {
        Ok(usage) => Some(usage.used_percent / 100.0),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot read the backup filesystem");
            None
        }
    };
    let wal_root = state.settings.backup_root.join("wal");
    let replication = match blocking(move || replica::window(&wal_root)).await? {
        Ok(window) => window.map(|w| Replication {
            lag_seconds: (chrono::Utc::now().timestamp_millis() - w.latest_ms).max(0) as f64
                / 1000.0,
            segments: w.segments,
            bytes: w.bytes,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot read the replication folder");
            None
        }
    };
    let text = render(Scrape {
        figures,
        jobs,
        workers_alive,
        storage_used_ratio,
        replication,
    });
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text))
}
