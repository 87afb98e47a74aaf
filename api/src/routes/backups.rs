//! `/api/v1/backups`: create (202, the work happens in the worker), list
//! and detail (clients poll these for status and progress).

use std::net::SocketAddr;

use axum::Json as JsonResponse;
use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::Utc;
use nexus_shared::catalog::{
    AuditEntry, AuditResult, AuditSource, BackupFilter, CreatedBy, NewBackup,
};
use nexus_shared::domain::{BackupStatus, BackupType};
use nexus_shared::engine::preflight;
use nexus_shared::service::request::{RequestError, request_backup};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::deletion;
use super::params::BackupIdParam;
use super::verifications::{not_found, parse_id};
use super::views::{BackupView, local_time};
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(detail, deletion::delete_backup))
}

const MAX_DESCRIPTION_CHARS: usize = 500;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateBackup {
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
enum RequestableType {
    Daily,
    Weekly,
    Monthly,
    Manual,
}

/// A backup accepted for the worker (SPEC §4.3).
#[derive(Serialize, ToSchema)]
struct BackupAccepted {
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
struct StorageWarning {
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
        let description = match self.description {
            None => None,
            Some(d) if d.chars().count() > MAX_DESCRIPTION_CHARS => {
                return Err(ApiError::InvalidDescription(format!(
                    "longer than {MAX_DESCRIPTION_CHARS} characters"
                )));
            }
            Some(d) if d.chars().any(char::is_control) => {
                return Err(ApiError::InvalidDescription(
                    "contains control characters".into(),
                ));
            }
            Some(d) => Some(d.trim().to_owned()).filter(|d| !d.is_empty()),
        };
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
async fn create(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    user: AuthUser,
    Json(body): Json<CreateBackup>,
) -> Result<impl IntoResponse, ApiError> {
    let audit = AuditEntry {
        actor: user.username.clone(),
        actor_id: Some(user.id),
        source: AuditSource::Api,
        remote_addr: Some(addr.ip().to_string()),
        action: "backup.create",
        target: None,
        result: AuditResult::Denied,
        detail: None,
    };
    if let Err(e) = user.require_operator() {
        let entry = audit.detail(format!("role {}", user.role));
        state.catalog(move |c| c.append_audit(&entry)).await?;
        return Err(e);
    }
    let (backup_type, description) = body.parse()?;

    // The same pre-flight the worker runs, so the client hears "no" now.
    let settings = state.settings.clone();
    let preflight = tokio::task::spawn_blocking(move || {
        preflight::check(
            &settings.db_path,
            &settings.backup_root,
            settings.reserve_bytes,
        )
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
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
    let record = request_backup(&state.catalog, &state.queue, &state.settings, new)
        .await
        .map_err(|e| match e {
            RequestError::Queue(_) => ApiError::QueueUnavailable,
            RequestError::Catalog(e) => e.into(),
        })?;
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

/// The list's filters and page. Taken as text and parsed here, so that a
/// bad value gets `invalid_parameter` naming it.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only backups of this type; empty: all.
    #[serde(rename = "type")]
    #[param(value_type = Option<BackupType>)]
    backup_type: Option<String>,
    /// Only backups with this status; empty: all.
    #[param(value_type = Option<BackupStatus>)]
    status: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// Backups to skip (default 0).
    #[param(value_type = Option<u64>, minimum = 0, maximum = 4294967295_u64)]
    offset: Option<String>,
}

/// A page of backups, newest first (SPEC §8).
#[derive(Serialize, ToSchema)]
struct BackupList {
    backups: Vec<BackupView>,
    /// Backups matching the filters, on all pages.
    total: u64,
    limit: u32,
    // up to u32::MAX: wider than int32, the format of a u32 in the document
    #[schema(value_type = u64)]
    offset: u32,
}

impl ListQuery {
    fn parse(self) -> Result<BackupFilter, ApiError> {
        let invalid = |parameter, reason: String| ApiError::InvalidParameter { parameter, reason };
        let number = |parameter, value: Option<String>, default: u32, max: u32| match value {
            None => Ok(default),
            Some(v) => v.parse::<u32>().ok().filter(|n| *n <= max).ok_or_else(|| {
                invalid(
                    parameter,
                    format!("{v:?} is not a whole number from 0 to {max}"),
                )
            }),
        };
        let limit = number("limit", self.limit, 20, 100)?;
        if limit == 0 {
            return Err(invalid("limit", "must be at least 1".into()));
        }
        Ok(BackupFilter {
            backup_type: self
                .backup_type
                .filter(|s| !s.is_empty())
                .map(|t| {
                    t.parse()
                        .map_err(|e: nexus_shared::domain::InvalidBackupType| {
                            invalid("type", e.to_string())
                        })
                })
                .transpose()?,
            status: self
                .status
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().map_err(|e: String| invalid("status", e)))
                .transpose()?,
            limit,
            offset: number("offset", self.offset, 0, u32::MAX)?,
        })
    }
}

/// List backups, newest first
#[utoipa::path(
    get,
    path = "/backups",
    operation_id = "list_backups",
    tag = "backups",
    params(ListQuery),
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("viewer"))),
    responses(
        (status = 200, description = "A page of backups", body = BackupList),
        (status = 400, description = "`invalid_parameter`: `details.parameter` names the bad filter; `invalid_request`: an unknown parameter", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    Query(query): Query<ListQuery>,
) -> Result<JsonResponse<BackupList>, ApiError> {
    let filter = query.parse()?;
    let (limit, offset) = (filter.limit, filter.offset);
    // Each view looks at its file on disk: done on the catalog's blocking thread.
    let (root, tz) = (state.settings.backup_root.clone(), state.settings.tz());
    let (mut backups, total) = state
        .catalog(move |c| {
            let (records, total) = c.list_backups(&filter)?;
            let views: Vec<BackupView> = records
                .into_iter()
                .map(|r| BackupView::new(r, &root, tz))
                .collect();
            Ok((views, total))
        })
        .await?;
    super::verifications::attach_last(&state, &mut backups).await?;
    super::offsite::attach_copies(&state, &mut backups).await?;
    Ok(JsonResponse(BackupList {
        backups,
        total,
        limit,
        offset,
    }))
}

/// One backup: status, phase, progress, sizes, checksum, last verification
///
/// Clients poll this while a backup runs.
#[utoipa::path(
    get,
    path = "/backups/{id}",
    operation_id = "get_backup",
    tag = "backups",
    params(BackupIdParam),
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("viewer"))),
    responses(
        (status = 200, description = "The backup", body = BackupView),
        (status = 400, description = "`invalid_backup_id`", body = ErrorBody),
        (status = 404, description = "`backup_not_found`", body = ErrorBody),
    )
)]
async fn detail(
    State(state): State<AppState>,
    _user: AuthUser,
    Path(id): Path<String>,
) -> Result<JsonResponse<BackupView>, ApiError> {
    let id = parse_id(&id)?;
    let (root, tz) = (state.settings.backup_root.clone(), state.settings.tz());
    let mut view = state
        .catalog({
            let id = id.clone();
            move |c| Ok(BackupView::new(c.get_backup(&id)?, &root, tz))
        })
        .await
        .map_err(not_found(&id))?;
    super::verifications::attach_last(&state, std::slice::from_mut(&mut view)).await?;
    super::offsite::attach_copies(&state, std::slice::from_mut(&mut view)).await?;
    Ok(JsonResponse(view))
}
