//! `POST /api/v1/backups/{id}/restore` (SPEC §6, §8): an admin asks for a
//! restore of the live database, repeating the backup id as confirmation.
//! Routed in `restores.rs`, beside the restores' list and detail.

use std::net::SocketAddr;

use axum::Json as JsonResponse;
use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use nexus_shared::blocking::blocking;
use nexus_shared::catalog::{AuditEntry, AuditResult, NewRestore};
use nexus_shared::domain::{BackupId, BackupStatus};
use nexus_shared::domain::{CreatedBy, ErrorInfo, RestoreId};
use nexus_shared::engine::preflight;
use nexus_shared::queue::Job;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::params::BackupIdParam;
use crate::auth::{AuthUser, actions, admit};
use crate::error::{ApiError, ErrorBody, backup_not_found};
use crate::extract::{Json, Path};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RestoreRequest {
    /// The backup id again, to show the restore is meant; anything else is
    /// 400 `confirmation_mismatch`.
    #[schema(example = "BKP-20260131-143025-manual")]
    confirm: Option<String>,
}

/// A restore accepted for the worker (SPEC §8).
#[derive(Serialize, ToSchema)]
pub(super) struct RestoreAccepted {
    restore_id: String,
    backup_id: String,
    /// Always `in_progress`.
    status: BackupStatus,
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
pub(super) async fn create(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<RestoreRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let audit = admit::<actions::RequestRestore>(&state, &user, addr, Some(&id)).await?;
    let refuse = |result, detail: String| {
        let entry = AuditEntry {
            result,
            ..audit.clone()
        }
        .detail(detail);
        state.catalog(move |c| c.append_audit(&entry))
    };
    // The body is read before the role is checked, and the id after it,
    // so this route parses its id here rather than in an extractor.
    let id = BackupId::parse(&id)?;
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
        .map_err(backup_not_found(&id))?;
    if backup.status != BackupStatus::Success {
        return Err(ApiError::BackupNotRestorable {
            backup_id: id.to_string(),
            status: backup.status.as_str(),
        });
    }
    // The safety backup's pre-flight, so the client hears "no" now.
    let settings = state.settings.clone();
    let checked = blocking(move || {
        preflight::check(
            &settings.db_path,
            &settings.backup_root,
            settings.reserve_bytes,
        )
    })
    .await?;
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
