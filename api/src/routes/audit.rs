//! `GET /api/v1/audit-logs` (admin): the audit trail, newest first, with
//! filters on action, actor and time, and paging (SPEC §9).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use nexus_shared::catalog::AuditFilter;
use nexus_shared::views::AuditLogView;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Query;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// The trail's filters and page; empty filters are none.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Only this action, e.g. `backup.create`, `backup.delete`,
    /// `restore.request`, `auth.login`; at most 128 bytes (UTF-8), no
    /// control characters.
    #[param(
        max_length = 128,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$",
        example = "backup.create"
    )]
    action: Option<String>,
    /// Only this user (or `scheduler`, `worker`…); as `action`.
    #[param(max_length = 128, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    actor: Option<String>,
    /// Only entries at or after this time, RFC 3339 (empty: no limit).
    #[param(format = DateTime, example = "2026-01-31T00:00:00+09:00")]
    from: Option<String>,
    /// Only entries at or before this time, RFC 3339 (empty: no limit).
    #[param(format = DateTime)]
    to: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// Entries to skip (default 0).
    #[param(value_type = Option<u64>, minimum = 0, maximum = 4294967295_u64)]
    offset: Option<String>,
}

/// A page of the audit trail, newest first.
#[derive(Serialize, ToSchema)]
struct AuditPage {
    audit_logs: Vec<AuditLogView>,
    total: u64,
    limit: u32,
    // up to u32::MAX: wider than int32, the format of a u32 in the document
    #[schema(value_type = u64)]
    offset: u32,
}

impl AuditQuery {
    fn parse(self) -> Result<AuditFilter, ApiError> {
        let invalid = |parameter, reason: String| ApiError::InvalidParameter { parameter, reason };
        let time = |parameter, value: Option<String>| {
            value
                .filter(|v| !v.is_empty())
                .map(|v| {
                    DateTime::parse_from_rfc3339(&v)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|_| invalid(parameter, format!("{v:?} is not an RFC 3339 time")))
                })
                .transpose()
        };
        let number = |parameter, value: Option<String>, default: u32, max: u32| match value {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n) || (parameter == "offset" && *n == 0))
                .ok_or_else(|| {
                    invalid(
                        parameter,
                        format!("{v:?} is not a whole number up to {max}"),
                    )
                }),
        };
        let text = |parameter, value: Option<String>| match value.filter(|v| !v.is_empty()) {
            Some(v) if v.len() > 128 || v.chars().any(char::is_control) => Err(invalid(
                parameter,
                "too long or has control characters".into(),
            )),
            other => Ok(other),
        };
        Ok(AuditFilter {
            action: text("action", self.action)?,
            actor: text("actor", self.actor)?,
            from: time("from", self.from)?,
            to: time("to", self.to)?,
            limit: number("limit", self.limit, 50, 500)?,
            offset: number("offset", self.offset, 0, u32::MAX)?,
        })
    }
}

/// The audit trail, newest first
#[utoipa::path(
    get,
    path = "/audit-logs",
    operation_id = "list_audit_logs",
    tag = "audit",
    params(AuditQuery),
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("admin"))),
    responses(
        (status = 200, description = "A page of the audit trail", body = AuditPage),
        (status = 400, description = "`invalid_parameter`: `details.parameter` names the bad filter; `invalid_request`: an unknown parameter", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    user.require_admin()?;
    let filter = query.parse()?;
    let (limit, offset) = (filter.limit, filter.offset);
    let (records, total) = state
        .catalog(move |c| c.list_audit_filtered(&filter))
        .await?;
    let tz = state.settings.tz();
    let audit_logs = records
        .into_iter()
        .map(|r| AuditLogView::new(r, tz))
        .collect();
    Ok(Json(AuditPage {
        audit_logs,
        total,
        limit,
        offset,
    }))
}
