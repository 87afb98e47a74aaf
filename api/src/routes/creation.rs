//! `POST /api/v1/backups` (SPEC §4.3, §8): an operator asks for a backup;
//! 202 at once, the worker makes it. The same pre-flight as the worker's
//! runs first, so a backup that cannot run is refused here. Routed in
//! `backups.rs`, beside `GET`.

use std::net::SocketAddr;

use axum::Json as JsonResponse;
use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::Utc;
use nexus_shared::blocking::blocking;
use nexus_shared::catalog::{AuditEntry, AuditResult, NewBackup};
use nexus_shared::domain::CreatedBy;
use nexus_shared::domain::{BackupStatus, BackupType, parse_description};
use nexus_shared::engine::preflight;
use nexus_shared::service::request::request_backup;
use nexus_shared::views::local_time;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{AuthUser, actions, admit};
use crate::error::{ApiError, ErrorBody};
use crate::extract::Json;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateBackup {
    /// `manual` when absent; `before_restore` is made by restores only.
    #[serde(rename = "type")]
    #[schema(value_type = Option<RequestableType>)]
    backup_type: Option<String>,
    /// At most 500 characters, no control characters; trimmed, and an
    /// empty one is none.
    #[schema(
        max_length = 500,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$",
        example = "before the monthly update"
    )]
    description: Option<String>,
}

/// The backup types a client may ask for.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // a description for the document
pub(super) enum RequestableType {
    Daily,
    Weekly,
    Monthly,
    Manual,
}

/// A backup accepted for the worker (SPEC §4.3).
#[derive(Serialize, ToSchema)]
pub(super) struct BackupAccepted {
    backup_id: String,
    backup_type: BackupType,
    /// Always `in_progress`.
    status: BackupStatus,
    started_at: String,
    created_by: CreatedBy,
    /// Only while the backup storage is critically full (guide §7.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    warning: Option<StorageWarning>,
}

/// Automatic backups are paused; a requested one still runs.
#[derive(Serialize, ToSchema)]
pub(super) struct StorageWarning {
    /// `storage_critical`.
    code: &'static str,
    message: &'static str,
    message_en: &'static str,
}

impl CreateBackup {
    /// The requested type (default `manual`) and a checked description.
    fn parse(self) -> Result<(BackupType, Option<String>), ApiError> {
        let backup_type = match self.backup_type.as_deref() {
            None => BackupType::Manual,
            Some(name) => name
                .parse::<BackupType>()
                .ok()
                .filter(|t| t.is_requestable())
                .ok_or_else(|| {
                    ApiError::InvalidBackupType(format!("{name:?} cannot be requested"))
                })?,
        };
        let description = parse_description(self.description)?;
        Ok((backup_type, description))
    }
}

/// Start a backup now
///
/// Answers 202 at once; the worker makes the backup. Follow it with
/// `GET /api/v1/backups/{id}` (the `Location` header). The disk space and
/// the database are checked first, so a backup that cannot run is refused
/// here.
#[utoipa::path(
    post,
    path = "/backups",
    operation_id = "create_backup",
    tag = "backups",
    request_body = CreateBackup,
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("operator"))),
    responses(
        (status = 202, description = "Accepted: the backup is queued", body = BackupAccepted,
            headers(("Location" = String, description = "`/api/v1/backups/{backup_id}`"))),
        (status = 400, description = "`invalid_backup_type` or `invalid_description`", body = ErrorBody),
        (status = 503, description = "`database_not_found`: the database to back up is missing; `queue_unavailable`", body = ErrorBody),
        (status = 507, description = "`insufficient_disk_space`: `details` has `required_bytes` and `available_bytes`", body = ErrorBody),
    )
)]
pub(super) async fn create(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    user: AuthUser,
    Json(body): Json<CreateBackup>,
) -> Result<impl IntoResponse, ApiError> {
    let audit = admit::<actions::CreateBackup>(&state, &user, addr, None).await?;
    let (backup_type, description) = body.parse()?;

    // The same pre-flight the worker runs, so the client hears "no" now.
    let settings = state.settings.clone();
    let preflight = blocking(move || {
        preflight::check(
            &settings.db_path,
            &settings.backup_root,
            settings.reserve_bytes,
        )
    })
    .await?;
    if let Err(e) = preflight {
        let entry = AuditEntry {
            result: AuditResult::Failure,
            ..audit.clone()
        }
        .detail(e.to_string());
        state.catalog(move |c| c.append_audit(&entry)).await?;
        return Err(e.into());
    }

    let new = NewBackup {
        backup_type,
        description,
        created_by: CreatedBy {
            id: Some(user.id),
            username: user.username.clone(),
        },
        started_at: Utc::now(),
    };
    let record = request_backup(&state.catalog, &state.queue, &state.settings, new).await?;
    let id = record.id.clone();
    let entry = AuditEntry {
        result: AuditResult::Accepted,
        ..audit
    }
    .target(id.to_string());
    state.catalog(move |c| c.append_audit(&entry)).await?;
    tracing::info!(backup_id = %id, user = %user.username, "backup accepted");

    // At the CRITICAL disk level automatic backups are paused; a requested
    // one still runs, with a warning (guide §7.3).
    let warning = state
        .catalog(|c| c.automatic_backups_paused())
        .await?
        .then_some(StorageWarning {
            code: "storage_critical",
            message: "バックアップ領域の空き容量が危険な水準です。自動バックアップは停止中です。",
            message_en: "The backup storage is critically full; automatic backups are paused.",
        });
    let body = BackupAccepted {
        backup_id: id.to_string(),
        backup_type,
        status: BackupStatus::InProgress,
        started_at: local_time(record.started_at, state.settings.tz()),
        created_by: record.created_by,
        warning,
    };
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/api/v1/backups/{id}"))],
        JsonResponse(body),
    ))
}
