//! Restores (SPEC §6, §8): an admin asks for one, repeating the backup id
//! as confirmation (202, the worker runs it: verification, safety backup,
//! restore into the live database, check, rollback on failure); anyone
//! signed in follows it (here; the request is `restore_request.rs`).
//! Restoring to another path is the CLI's `restore --to`; over HTTP the
//! target is always the live database.

use axum::Json as JsonResponse;
use axum::extract::State;
use chrono_tz::Tz;
use nexus_shared::catalog::{CatalogError, RestorePhase, RestoreRecord};
use nexus_shared::domain::{BackupStatus, CreatedBy, ErrorInfo, RestoreId};
use nexus_shared::views::local_time;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::RestoreIdParam;
use super::restore_request;
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Path, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(restore_request::create))
        .routes(routes!(list))
        .routes(routes!(detail))
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
    let id = RestoreId::parse(&id)?;
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
