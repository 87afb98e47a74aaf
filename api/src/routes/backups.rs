//! `/api/v1/backups`: create (202, the work happens in the worker), list
//! and detail (clients poll these for status and progress).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json as JsonResponse, Router};
use chrono::Utc;
use nexus_shared::catalog::{
    AuditEntry, AuditResult, AuditSource, BackupFilter, CreatedBy, NewBackup,
};
use nexus_shared::domain::{BackupStatus, BackupType};
use nexus_shared::engine::preflight;
use nexus_shared::service::request::{RequestError, request_backup};
use serde::Deserialize;
use serde_json::{Value, json};

use super::deletion::delete_backup;
use super::verifications::{not_found, parse_id};
use super::views::{BackupView, local_time};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/backups", get(list).post(create))
        .route("/backups/{id}", get(detail).delete(delete_backup))
}

const MAX_DESCRIPTION_CHARS: usize = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBackup {
    #[serde(rename = "type")]
    backup_type: Option<String>,
    description: Option<String>,
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

    let mut body = json!({
        "backup_id": id.to_string(),
        "backup_type": backup_type,
        "status": BackupStatus::InProgress,
        "started_at": local_time(record.started_at, state.settings.tz()),
        "created_by": record.created_by,
    });
    // At the CRITICAL disk level automatic backups are paused; a requested
    // one still runs, with a warning (guide §7.3).
    if state.catalog(|c| c.automatic_backups_paused()).await? {
        body["warning"] = json!({
            "code": "storage_critical",
            "message": "バックアップ領域の空き容量が危険な水準です。自動バックアップは停止中です。",
            "message_en": "The backup storage is critically full; automatic backups are paused.",
        });
    }
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/api/v1/backups/{id}"))],
        JsonResponse(body),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(rename = "type")]
    backup_type: Option<String>,
    status: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
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

async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    Query(query): Query<ListQuery>,
) -> Result<JsonResponse<Value>, ApiError> {
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
    Ok(JsonResponse(json!({
        "backups": backups,
        "total": total,
        "limit": limit,
        "offset": offset,
    })))
}

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
