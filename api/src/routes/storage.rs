//! `GET /api/v1/storage`: the backup filesystem's usage, the space each
//! backup type takes, the current disk level and whether automatic
//! backups are paused (guide §7.2–7.3).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use nexus_shared::fsutil::{self, DiskUsage, human_size};
use nexus_shared::queue::Job;
use serde_json::{Value, json};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/storage", get(storage))
        .route("/storage/check", post(check_now))
}

/// Enqueues a disk check now (it otherwise runs hourly): 202 `{job_id}`.
async fn check_now(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    user.require_admin()?;
    let job_id = state
        .queue
        .push(
            Job::DiskCheck {
                requested_by: user.username.clone(),
            },
            None,
        )
        .await
        .map_err(|_| ApiError::QueueUnavailable)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "job_id": job_id, "status": "queued" })),
    ))
}

/// The backup filesystem's usage now (the backup root is made if missing).
pub(super) async fn backup_filesystem_usage(state: &AppState) -> Result<DiskUsage, ApiError> {
    let root = state.settings.backup_root.clone();
    tokio::task::spawn_blocking(move || {
        fsutil::create_private_dir(&root)?;
        fsutil::disk_usage(&root)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(|e| {
        ApiError::Internal(anyhow::Error::new(e).context("cannot read the backup filesystem"))
    })
}

async fn storage(State(state): State<AppState>, _user: AuthUser) -> Result<Json<Value>, ApiError> {
    let usage = backup_filesystem_usage(&state).await?;
    let (by_type, disk) = state
        .catalog(|c| Ok((c.usage_by_type()?, c.disk_state()?)))
        .await?;
    let alerts = &state.settings.alerts;
    let level = nexus_shared::alert::disk::Level::for_percent(usage.used_percent, alerts);
    Ok(Json(json!({
        "backup_root": state.settings.backup_root.display().to_string(),
        "total_bytes": usage.total_bytes,
        "used_bytes": usage.used_bytes,
        "available_bytes": usage.available_bytes,
        "used_percent": (usage.used_percent * 10.0).round() / 10.0,
        "total_human": human_size(usage.total_bytes),
        "used_human": human_size(usage.used_bytes),
        "available_human": human_size(usage.available_bytes),
        "by_type": by_type
            .iter()
            .map(|(t, u)| (t.as_str().to_owned(), json!({ "count": u.count, "bytes": u.bytes, "human": human_size(u.bytes) })))
            .collect::<serde_json::Map<_, _>>(),
        "alert_level": level.as_str(),
        "last_checked_level": disk.level.as_str(),
        "automatic_paused": disk.automatic_paused,
        "thresholds": {
            "warn_percent": alerts.warn_percent,
            "error_percent": alerts.error_percent,
            "critical_percent": alerts.critical_percent,
        },
    })))
}
