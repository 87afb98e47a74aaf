//! `GET /api/v1/storage`: the backup filesystem's usage, the space each
//! backup type takes, the current disk level and whether automatic
//! backups are paused (guide §7.2–7.3).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use nexus_shared::alert::disk::level_for;
use nexus_shared::blocking::blocking;
use nexus_shared::domain::BackupType;
use nexus_shared::fsutil::{self, DiskUsage, human_size};
use nexus_shared::queue::Job;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(storage))
        .routes(routes!(check_now))
}

/// A disk check accepted for the worker.
#[derive(Serialize, ToSchema)]
struct CheckQueued {
    job_id: String,
    /// Always `queued`.
    #[schema(example = "queued")]
    status: &'static str,
}

/// The backup filesystem and what the backups take of it.
#[derive(Serialize, ToSchema)]
struct Storage {
    backup_root: String,
    total_bytes: u64,
    used_bytes: u64,
    available_bytes: u64,
    /// Of the filesystem, to one decimal.
    used_percent: f64,
    total_human: String,
    used_human: String,
    available_human: String,
    /// The successful backups of each type, every type named.
    #[schema(value_type = BTreeMap<BackupType, TypeUsage>)]
    by_type: BTreeMap<String, TypeUsage>,
    /// The level `used_percent` is at now.
    alert_level: nexus_shared::domain::DiskLevel,
    /// The level of the last disk check, which alerts and pauses.
    last_checked_level: nexus_shared::domain::DiskLevel,
    /// Automatic backups are paused (the CRITICAL level, guide §7.3).
    automatic_paused: bool,
    thresholds: Thresholds,
}

#[derive(Serialize, ToSchema)]
struct TypeUsage {
    count: u64,
    bytes: u64,
    human: String,
}

#[derive(Serialize, ToSchema)]
struct Thresholds {
    warn_percent: f64,
    error_percent: f64,
    critical_percent: f64,
}

/// Check the disk now
///
/// The check otherwise runs hourly; it alerts and pauses automatic backups
/// at the configured levels.
#[utoipa::path(
    post,
    path = "/storage/check",
    operation_id = "check_storage",
    tag = "maintenance",
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("admin"))),
    responses(
        (status = 202, description = "Accepted: the check is queued", body = CheckQueued),
        (status = 503, description = "`queue_unavailable`", body = ErrorBody),
    )
)]
async fn check_now(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<(StatusCode, Json<CheckQueued>), ApiError> {
    user.require_admin()?;
    let job_id = state
        .queue
        .push(
            Job::DiskCheck {
                requested_by: user.username.clone(),
            },
            None,
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CheckQueued {
            job_id,
            status: "queued",
        }),
    ))
}

/// The backup filesystem's usage now (the backup root is made if missing).
pub(super) async fn backup_filesystem_usage(state: &AppState) -> Result<DiskUsage, ApiError> {
    let root = state.settings.backup_root.clone();
    blocking(move || {
        fsutil::create_private_dir(&root)?;
        fsutil::disk_usage(&root)
    })
    .await?
    .map_err(|e| {
        ApiError::Internal(anyhow::Error::new(e).context("cannot read the backup filesystem"))
    })
}

/// Disk usage of the backup filesystem, and per backup type
#[utoipa::path(
    get,
    path = "/storage",
    operation_id = "get_storage",
    tag = "maintenance",
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("viewer"))),
    responses((status = 200, description = "The backup filesystem's usage", body = Storage))
)]
async fn storage(
    State(state): State<AppState>,
    _user: AuthUser,
) -> Result<Json<Storage>, ApiError> {
    let usage = backup_filesystem_usage(&state).await?;
    let (by_type, disk) = state
        .catalog(|c| Ok((c.usage_by_type()?, c.disk_state()?)))
        .await?;
    let alerts = &state.settings.alerts;
    Ok(Json(Storage {
        backup_root: state.settings.backup_root.display().to_string(),
        total_bytes: usage.total_bytes,
        used_bytes: usage.used_bytes,
        available_bytes: usage.available_bytes,
        used_percent: (usage.used_percent * 10.0).round() / 10.0,
        total_human: human_size(usage.total_bytes),
        used_human: human_size(usage.used_bytes),
        available_human: human_size(usage.available_bytes),
        by_type: by_type
            .iter()
            .map(|(t, u)| {
                let usage = TypeUsage {
                    count: u.count,
                    bytes: u.bytes,
                    human: human_size(u.bytes),
                };
                (t.as_str().to_owned(), usage)
            })
            .collect(),
        alert_level: level_for(usage.used_percent, alerts),
        last_checked_level: disk.level,
        automatic_paused: disk.automatic_paused,
        thresholds: Thresholds {
            warn_percent: alerts.warn_percent,
            error_percent: alerts.error_percent,
            critical_percent: alerts.critical_percent,
        },
    }))
}
