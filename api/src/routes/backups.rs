//! `/api/v1/backups`: list and detail (clients poll these for status and
//! progress); creating (`creation.rs`) and deleting (`deletion.rs`) are
//! routed here too.

use axum::Json as JsonResponse;
use axum::extract::State;
use nexus_shared::catalog::BackupFilter;
use nexus_shared::domain::{BackupStatus, BackupType};
use nexus_shared::views::BackupView;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::BackupIdParam;
use super::{creation, deletion};
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody, backup_not_found};
use crate::extract::{BackupIdPath, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, creation::create))
        .routes(routes!(detail, deletion::delete_backup))
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
    // One visit to the catalog for the page, its verifications and copies.
    let (root, tz) = (state.settings.backup_root.clone(), state.settings.tz());
    let bucket = super::offsite::bucket_name(&state).to_owned();
    let (backups, total) = state
        .catalog(move |c| {
            let (records, total) = c.list_backups(&filter)?;
            Ok((BackupView::complete(c, records, &root, &bucket, tz)?, total))
        })
        .await?;
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
    BackupIdPath(id): BackupIdPath,
) -> Result<JsonResponse<BackupView>, ApiError> {
    let (root, tz) = (state.settings.backup_root.clone(), state.settings.tz());
    let bucket = super::offsite::bucket_name(&state).to_owned();
    let view = state
        .catalog({
            let id = id.clone();
            move |c| {
                let record = c.get_backup(&id)?;
                let mut views = BackupView::complete(c, vec![record], &root, &bucket, tz)?;
                Ok(views.pop().expect("one view of one record"))
            }
        })
        .await
        .map_err(backup_not_found(&id))?;
    Ok(JsonResponse(view))
}
