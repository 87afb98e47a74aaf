//! Restores (SPEC §6, §8): an admin asks for one, repeating the backup id
//! as confirmation (202, the worker runs it: verification, safety backup,
//! restore into the live database, check, rollback on failure); anyone
//! signed in follows it. Restoring to another path is the CLI's
//! `restore --to`; over HTTP the target is always the live database.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json as JsonResponse, Router};
use chrono_tz::Tz;
use nexus_shared::catalog::{
    AuditEntry, AuditResult, AuditSource, CatalogError, CreatedBy, ErrorInfo, NewRestore,
    RestoreId, RestoreRecord,
};
use nexus_shared::domain::{BackupId, BackupStatus};
use nexus_shared::engine::preflight;
use nexus_shared::queue::Job;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::views::local_time;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/backups/{id}/restore", post(create))
        .route("/restores", get(list))
        .route("/restores/{restore_id}", get(detail))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreRequest {
    /// The backup id again, to show the restore is meant.
    confirm: Option<String>,
}

/// A restore as clients see it.
#[derive(Serialize)]
struct RestoreView {
    restore_id: String,
    backup_id: String,
    status: &'static str,
    phase: &'static str,
    safety_backup_id: Option<String>,
    target: String,
    requested_by: CreatedBy,
    started_at: String,
    completed_at: Option<String>,
    error: Option<ErrorInfo>,
}

impl RestoreView {
    fn new(r: RestoreRecord, tz: Tz) -> Self {
        RestoreView {
            restore_id: r.id.to_string(),
            backup_id: r.backup_id.to_string(),
            status: r.status.as_str(),
            phase: r.phase.as_str(),
            safety_backup_id: r.safety_backup_id.map(|id| id.to_string()),
            target: r.target.display().to_string(),
            requested_by: r.requested_by,
            started_at: local_time(r.started_at, tz),
            completed_at: r.completed_at.map(|t| local_time(t, tz)),
            error: r.error,
        }
    }
}

/// `POST /api/v1/backups/{id}/restore` with `{"confirm": "<id>"}` → 202
/// `{"restore_id", "backup_id", "status": "in_progress"}`. 400
/// `invalid_backup_id` / `confirmation_mismatch`, 403 unless admin, 404
/// `backup_not_found`, 409 `backup_not_restorable` unless it succeeded;
/// the backup pre-flight's 503 / 507 for the safety backup.
async fn create(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<RestoreRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let audit = AuditEntry {
        actor: user.username.clone(),
        actor_id: Some(user.id),
        source: AuditSource::Api,
        remote_addr: Some(addr.ip().to_string()),
        action: "restore.request",
        target: Some(id.chars().take(100).collect()),
        result: AuditResult::Denied,
        detail: None,
    };
    let refuse = |result, detail: String| {
        let entry = AuditEntry {
            result,
            ..audit.clone()
        }
        .detail(detail);
        state.catalog(move |c| c.append_audit(&entry))
    };
    if let Err(e) = user.require_admin() {
        refuse(AuditResult::Denied, format!("role {}", user.role)).await?;
        return Err(e);
    }
    let id = BackupId::parse(&id).map_err(|e| ApiError::InvalidBackupId(e.0))?;
    if body.confirm.as_deref() != Some(id.to_string().as_str()) {
        refuse(
            AuditResult::Failure,
            "the confirmation does not match".into(),
        )
        .await?;
        return Err(ApiError::ConfirmationMismatch {
            backup_id: id.to_string(),
        });
    }
    let backup = state
        .catalog({
            let id = id.clone();
            move |c| c.restorable_backup(&id)
        })
        .await
        .map_err(|e| match e {
            CatalogError::NotFound => ApiError::BackupNotFound(id.to_string()),
            other => other.into(),
        })?;
    if backup.status != BackupStatus::Success {
        return Err(ApiError::BackupNotRestorable {
            backup_id: id.to_string(),
            status: backup.status.as_str(),
        });
    }
    // The safety backup's pre-flight, so the client hears "no" now.
    let settings = state.settings.clone();
    let checked = tokio::task::spawn_blocking(move || {
        preflight::check(
            &settings.db_path,
            &settings.backup_root,
            settings.reserve_bytes,
        )
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    if let Err(e) = checked {
        refuse(AuditResult::Failure, e.to_string()).await?;
        return Err(e.into());
    }

    let new = NewRestore {
        backup_id: id.clone(),
        target: state.settings.db_path.clone(),
        requested_by: CreatedBy {
            id: Some(user.id),
            username: user.username.clone(),
        },
    };
    let record = state.catalog(move |c| c.create_restore(&new)).await?;
    let restore_id = record.id.clone();
    enqueue(&state, &restore_id).await?;
    let entry = AuditEntry {
        result: AuditResult::Accepted,
        ..audit
    }
    .target(id.to_string())
    .detail(restore_id.to_string());
    state.catalog(move |c| c.append_audit(&entry)).await?;
    tracing::info!(%restore_id, backup_id = %id, user = %user.username, "restore accepted");

    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/api/v1/restores/{restore_id}"))],
        JsonResponse(json!({
            "restore_id": restore_id.to_string(),
            "backup_id": id.to_string(),
            "status": BackupStatus::InProgress,
        })),
    ))
}

/// Pushes the job; if the queue refuses, the restore is recorded as failed.
async fn enqueue(state: &AppState, id: &RestoreId) -> Result<(), ApiError> {
    let job = Job::Restore {
        restore_id: id.clone(),
    };
    match state.queue.push(job, None).await {
        Ok(job_id) => {
            let id = id.clone();
            state
                .catalog(move |c| c.set_restore_job_id(&id, &job_id))
                .await?;
            Ok(())
        }
        Err(e) => {
            tracing::error!(restore_id = %id, error = %e, "cannot enqueue the restore");
            let error = ErrorInfo {
                code: "queue_unavailable".into(),
                message: e.to_string(),
                details: None,
            };
            let id = id.clone();
            state
                .catalog(move |c| c.finish_restore(&id, None, Some(&error)))
                .await?;
            Err(ApiError::QueueUnavailable)
        }
    }
}

/// `GET /api/v1/restores/{restore_id}`: status, phase, safety backup, error.
async fn detail(
    State(state): State<AppState>,
    _user: AuthUser,
    Path(id): Path<String>,
) -> Result<JsonResponse<RestoreView>, ApiError> {
    let id = RestoreId::parse(&id).map_err(|e| ApiError::InvalidRestoreId(e.0))?;
    let wanted = id.clone();
    let record = state
        .catalog(move |c| c.get_restore(&wanted))
        .await
        .map_err(|e| match e {
            CatalogError::NotFound => ApiError::RestoreNotFound(id.to_string()),
            other => other.into(),
        })?;
    Ok(JsonResponse(RestoreView::new(record, state.settings.tz())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<String>,
    offset: Option<String>,
}

/// `GET /api/v1/restores?limit=&offset=` → `{restores, total, limit, offset}`,
/// newest first.
async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    Query(query): Query<ListQuery>,
) -> Result<JsonResponse<Value>, ApiError> {
    let number = |parameter, value: Option<String>, default: u32, range: (u32, u32)| match value {
        None => Ok(default),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (range.0..=range.1).contains(n))
            .ok_or_else(|| ApiError::InvalidParameter {
                parameter,
                reason: format!(
                    "{v:?} is not a whole number from {} to {}",
                    range.0, range.1
                ),
            }),
    };
    let limit = number("limit", query.limit, 20, (1, 100))?;
    let offset = number("offset", query.offset, 0, (0, u32::MAX))?;
    let (records, total) = state
        .catalog(move |c| c.list_restores(limit, offset))
        .await?;
    let tz = state.settings.tz();
    let restores: Vec<RestoreView> = records
        .into_iter()
        .map(|r| RestoreView::new(r, tz))
        .collect();
    Ok(JsonResponse(json!({
        "restores": restores,
        "total": total,
        "limit": limit,
        "offset": offset,
    })))
}
