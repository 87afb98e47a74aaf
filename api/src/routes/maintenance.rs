//! Prune and reconciliation on demand (SPEC §2, §5; guide §6.3, §8.4):
//!
//! - `GET /prune/preview` and `POST /prune?dry_run=true` (admin): 200, what
//!   a prune would delete now, under the configured retention;
//! - `POST /prune` (admin): 202, enqueues a prune of daily, weekly and
//!   monthly backups;
//! - `POST /reconcile` (admin): 202, enqueues a reconciliation;
//! - `GET /reconcile` (any role): the last reconciliation's report.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json as JsonResponse, Router};
use chrono::Utc;
use nexus_shared::catalog::{AuditEntry, AuditResult, AuditSource, ReconcileReport};
use nexus_shared::queue::Job;
use nexus_shared::service::prune::{PRUNED_TYPES, preview, preview_document};
use serde::Deserialize;
use serde_json::{Value, json};

use super::views::local_time;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/prune", post(prune))
        .route("/prune/preview", get(prune_preview))
        .route("/reconcile", get(last_reconcile).post(reconcile))
}

/// An admin, or a denial written to the audit trail.
async fn require_admin(
    state: &AppState,
    user: &AuthUser,
    addr: SocketAddr,
    action: &'static str,
) -> Result<AuditEntry, ApiError> {
    let entry = AuditEntry {
        actor: user.username.clone(),
        actor_id: Some(user.id),
        source: AuditSource::Api,
        remote_addr: Some(addr.ip().to_string()),
        action,
        target: None,
        result: AuditResult::Accepted,
        detail: None,
    };
    if let Err(e) = user.require_admin() {
        let denied = AuditEntry {
            result: AuditResult::Denied,
            ..entry
        }
        .detail(format!("role {}", user.role));
        state.catalog(move |c| c.append_audit(&denied)).await?;
        return Err(e);
    }
    Ok(entry)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PruneQuery {
    dry_run: Option<String>,
}

async fn prune(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    user: AuthUser,
    Query(query): Query<PruneQuery>,
) -> Result<Response, ApiError> {
    let dry_run = match query.dry_run.as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") | Some("") => true,
        Some(other) => {
            return Err(ApiError::InvalidParameter {
                parameter: "dry_run",
                reason: format!("{other:?} is not true or false"),
            });
        }
    };
    let audit = require_admin(&state, &user, addr, "backup.prune").await?;
    if dry_run {
        return Ok(JsonResponse(preview_body(&state).await?).into_response());
    }
    let job = Job::Prune {
        backup_types: PRUNED_TYPES.to_vec(),
        requested_by: user.username.clone(),
    };
    let job_id = state
        .queue
        .push(job, None)
        .await
        .map_err(|_| ApiError::QueueUnavailable)?;
    let entry = audit.target(job_id.clone());
    state.catalog(move |c| c.append_audit(&entry)).await?;
    let body = json!({ "job_id": job_id, "status": "in_progress", "backup_types": PRUNED_TYPES });
    Ok((StatusCode::ACCEPTED, JsonResponse(body)).into_response())
}

async fn prune_preview(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    user: AuthUser,
) -> Result<JsonResponse<Value>, ApiError> {
    require_admin(&state, &user, addr, "backup.prune").await?;
    Ok(JsonResponse(preview_body(&state).await?))
}

/// What a prune would delete now: the dry run.
async fn preview_body(state: &AppState) -> Result<Value, ApiError> {
    let now = Utc::now();
    let settings = state.settings.clone();
    let expired = state
        .catalog(move |c| preview(c, &settings, now, &PRUNED_TYPES))
        .await?;
    Ok(preview_document(&expired, &state.settings, now))
}

async fn reconcile(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    user: AuthUser,
) -> Result<(StatusCode, JsonResponse<Value>), ApiError> {
    let audit = require_admin(&state, &user, addr, "backup.reconcile").await?;
    let job = Job::Reconcile {
        requested_by: user.username.clone(),
    };
    let job_id = state
        .queue
        .push(job, None)
        .await
        .map_err(|_| ApiError::QueueUnavailable)?;
    let entry = audit.target(job_id.clone());
    state.catalog(move |c| c.append_audit(&entry)).await?;
    Ok((
        StatusCode::ACCEPTED,
        JsonResponse(json!({ "job_id": job_id, "status": "in_progress" })),
    ))
}

/// The last report; `checked_at` is null before the first reconciliation.
async fn last_reconcile(
    State(state): State<AppState>,
    _user: AuthUser,
) -> Result<JsonResponse<Value>, ApiError> {
    let report = state.catalog(|c| c.last_reconcile_report()).await?;
    Ok(JsonResponse(report_view(report.as_ref(), &state)))
}

fn report_view(report: Option<&ReconcileReport>, state: &AppState) -> Value {
    let (root, tz) = (&state.settings.backup_root, state.settings.tz());
    let path = |p: &std::path::Path| root.join(p).display().to_string();
    let Some(r) = report else {
        return json!({ "orphan_files": [], "missing_files": [], "finished_deletions": [], "checked_at": null });
    };
    json!({
        "orphan_files": r.orphan_files.iter().map(|o| json!({
            "file_path": path(&o.path),
            "backup_id": o.backup_id,
            "file_size": o.size,
            "has_manifest": o.has_manifest,
        })).collect::<Vec<_>>(),
        "missing_files": r.missing_files.iter().map(|m| json!({
            "backup_id": m.backup_id,
            "file_path": path(&m.path),
        })).collect::<Vec<_>>(),
        "finished_deletions": r.finished_deletions,
        "checked_at": local_time(r.checked_at, tz),
    })
}
