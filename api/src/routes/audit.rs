//! `GET /api/v1/audit-logs` (admin): the audit trail, newest first, with
//! filters on action, actor and time, and paging (SPEC §9).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use nexus_shared::catalog::AuditFilter;
use serde::Deserialize;
use serde_json::{Value, json};

use super::views::local_time;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit-logs", get(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    action: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
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

async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    user.require_admin()?;
    let filter = query.parse()?;
    let (limit, offset) = (filter.limit, filter.offset);
    let (records, total) = state
        .catalog(move |c| c.list_audit_filtered(&filter))
        .await?;
    let tz = state.settings.tz();
    let logs: Vec<Value> = records
        .into_iter()
        .map(|r| {
            json!({
                "id": r.id,
                "occurred_at": local_time(r.occurred_at, tz),
                "actor": r.actor,
                "source": r.source,
                "remote_addr": r.remote_addr,
                "action": r.action,
                "target": r.target,
                "result": r.result,
                "detail": r.detail,
            })
        })
        .collect();
    Ok(Json(
        json!({ "audit_logs": logs, "total": total, "limit": limit, "offset": offset }),
    ))
}
