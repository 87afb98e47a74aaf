//! Restores (SPEC §6, §8): an admin asks for one, repeating the backup id
//! as confirmation (202, the worker runs it: verification, safety backup,
//! restore into the live database, check, rollback on failure); anyone
//! signed in follows it. Restoring to another path is the CLI's
//! `restore --to`; over HTTP the target is always the live database.

use std::net::SocketAddr;

use axum::Json as JsonResponse;
use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono_tz::Tz;
use nexus_shared::catalog::{
    AuditEntry, AuditResult, AuditSource, CatalogError, CreatedBy, ErrorInfo, NewRestore,
    RestoreId, RestorePhase, RestoreRecord,
};
use nexus_shared::domain::{BackupId, BackupStatus};
use nexus_shared::engine::preflight;
use nexus_shared::queue::Job;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::{BackupIdParam, RestoreIdParam};
use super::views::local_time;
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(list))
        .routes(routes!(detail))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RestoreRequest {
    /// The backup id again, to show the restore is meant; anything else is
    /// 400 `confirmation_mismatch`.
    #[schema(example = "BKP-20260131-143025-manual")]
    confirm: Option<String>,
}

/// A restore accepted for the worker (SPEC §8).
#[derive(Serialize, ToSchema)]
struct RestoreAccepted {
    restore_id: String,
    backup_id: String,
    /// Always `in_progress`.
    status: BackupStatus,
}

/// A restore as clients see it.
#[derive(Serialize, ToSchema)]
#[schema(as = Restore)]
struct RestoreView {
    restore_id: String,
    backup_id: String,
    #[schema(value_type = BackupStatus)]
    status: &'static str,
    #[schema(value_type = RestorePhase)]
    phase: &'static str,
    /// The backup of the live database taken before it was overwritten.
    safety_backup_id: Option<String>,
    /// The database restored into.
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

/// Restore the live database from a backup
///
/// The body repeats the backup id as confirmation. Answers 202; the worker
/// verifies the backup, takes a safety backup of the live database,
/// restores, checks, and rolls back on failure. Follow it with
/// `GET /api/v1/restores/{restore_id}` (the `Location` header).
#[utoipa::path(
    post,
    path = "/backups/{id}/restore",
    operation_id = "restore_backup",
    tag = "restores",
    params(BackupIdParam),
    request_body = RestoreRequest,
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("admin"))),
    responses(
        (status = 202, description = "Accepted: the restore is queued", body = RestoreAccepted,
            headers(("Location" = String, description = "`/api/v1/restores/{restore_id}`"))),
        (status = 400, description = "`invalid_backup_id`; `confirmation_mismatch`: `confirm` is not the backup id", body = ErrorBody),
        (status = 404, description = "`backup_not_found`", body = ErrorBody),
        (status = 409, description = "`backup_not_restorable`: the backup did not succeed", body = ErrorBody),
        (status = 503, description = "`database_not_found` (no live database for the safety backup); `queue_unavailable`", body = ErrorBody),
        (status = 507, description = "`insufficient_disk_space` for the safety backup", body = ErrorBody),
    )
)]
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
        JsonResponse(RestoreAccepted {
            restore_id: restore_id.to_string(),
            backup_id: id.to_string(),
            status: BackupStatus::InProgress,
        }),
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
            };
            let id = id.clone();
            state
                .catalog(move |c| c.finish_restore(&id, None, Some(&error)))
                .await?;
            Err(ApiError::QueueUnavailable)
        }
    }
}

/// One restore: status, phase, safety backup, error
#[utoipa::path(
    get,
    path = "/restores/{restore_id}",
    operation_id = "get_restore",
    tag = "restores",
    params(RestoreIdParam),
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("viewer"))),
    responses(
        (status = 200, description = "The restore", body = RestoreView),
        (status = 400, description = "`invalid_restore_id`", body = ErrorBody),
        (status = 404, description = "`restore_not_found`", body = ErrorBody),
    )
)]
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

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// Restores to skip (default 0).
    #[param(value_type = Option<u64>, minimum = 0, maximum = 4294967295_u64)]
    offset: Option<String>,
}

/// A page of restores, newest first.
#[derive(Serialize, ToSchema)]
struct RestoreList {
    restores: Vec<RestoreView>,
    total: u64,
    limit: u32,
    // up to u32::MAX: wider than int32, the format of a u32 in the document
    #[schema(value_type = u64)]
    offset: u32,
}

/// List restores, newest first
#[utoipa::path(
    get,
    path = "/restores",
    operation_id = "list_restores",
    tag = "restores",
    params(ListQuery),
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("viewer"))),
    responses(
        (status = 200, description = "A page of restores", body = RestoreList),
        (status = 400, description = "`invalid_parameter`: `details.parameter` names it; `invalid_request`: an unknown parameter", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    Query(query): Query<ListQuery>,
) -> Result<JsonResponse<RestoreList>, ApiError> {
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
    Ok(JsonResponse(RestoreList {
        restores,
        total,
        limit,
        offset,
    }))
}
