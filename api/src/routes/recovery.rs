//! `GET /api/v1/recovery-window`: what continuous replication can restore
//! (issue 18, SPEC §11): from the oldest base to the newest instant the
//! chain is known to hold everything up to, how far that is behind now,
//! and what the replication folder holds.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use nexus_shared::blocking::blocking;
use nexus_shared::engine::replica;
use nexus_shared::views::local_time;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(recovery_window))
}

/// The recovery window of continuous replication. Without replication data
/// the instants, the lag and the lineage are `null`.
#[derive(Serialize, ToSchema)]
struct RecoveryWindow {
    /// `[replication] enabled` of this process's configuration.
    enabled: bool,
    /// The oldest instant a restore can go back to (RFC 3339, in the
    /// configured timezone, as every time of the API).
    #[schema(format = DateTime)]
    earliest: Option<String>,
    /// The newest instant the captured chain holds everything up to.
    #[schema(format = DateTime)]
    latest: Option<String>,
    /// How far `latest` is behind now, in milliseconds.
    lag_ms: Option<i64>,
    /// The lineage the chain goes on in.
    lineage: Option<String>,
    /// Segments of that lineage.
    segments: u64,
    /// Bytes the replication folder holds (bases and segments).
    bytes: u64,
}

/// What continuous replication can restore to
#[utoipa::path(
    get,
    path = "/recovery-window",
    operation_id = "get_recovery_window",
    tag = "restores",
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("viewer"))),
    responses((status = 200, description = "The recovery window", body = RecoveryWindow))
)]
async fn recovery_window(
    State(state): State<AppState>,
    _user: AuthUser,
) -> Result<Json<RecoveryWindow>, ApiError> {
    let wal_root = state.settings.backup_root.join("wal");
    let window = blocking(move || replica::window(&wal_root))
        .await?
        .map_err(|e| {
            ApiError::Internal(anyhow::Error::new(e).context("cannot read the replication folder"))
        })?;
    let tz = state.settings.tz();
    let at = |ms: i64| DateTime::<Utc>::from_timestamp_millis(ms).map(|t| local_time(t, tz));
    let now = Utc::now().timestamp_millis();
    Ok(Json(match window {
        Some(w) => RecoveryWindow {
            enabled: state.settings.replication.enabled,
            earliest: at(w.earliest_ms),
            latest: at(w.latest_ms),
            lag_ms: Some((now - w.latest_ms).max(0)),
            lineage: Some(w.lineage),
            segments: w.segments,
            bytes: w.bytes,
        },
        None => RecoveryWindow {
            enabled: state.settings.replication.enabled,
            earliest: None,
            latest: None,
            lag_ms: None,
            lineage: None,
            segments: 0,
            bytes: 0,
        },
    }))
}
