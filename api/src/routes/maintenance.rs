//! Prune and reconciliation on demand (SPEC §2, §5; guide §6.3, §8.4):
//!
//! - `GET /prune/preview` and `POST /prune?dry_run=true` (admin): 200, what
//!   a prune would delete now, under the configured retention;
//! - `POST /prune` (admin): 202, enqueues a prune of daily, weekly and
//!   monthly backups;
//! - `POST /reconcile` (admin): 202, enqueues a reconciliation, and
//!   `GET /reconcile` (any role): the last reconciliation's report, both
//!   in `reconcile.rs` and routed here.

use std::net::SocketAddr;

use axum::Json as JsonResponse;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use nexus_shared::domain::BackupType;
use nexus_shared::queue::Job;
use nexus_shared::service::prune::{PRUNED_TYPES, PrunePreview, preview, preview_document};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::reconcile;
use crate::auth::{Admitted, AuthUser, actions, admit};
use crate::error::{ApiError, ErrorBody};
use crate::extract::Query;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(prune))
        .routes(routes!(prune_preview))
        .routes(routes!(reconcile::last_reconcile, reconcile::reconcile))
}

/// A maintenance job accepted for the worker.
#[derive(Serialize, ToSchema)]
pub(super) struct JobAccepted {
    pub(super) job_id: String,
    /// Always `in_progress`.
    #[schema(example = "in_progress")]
    pub(super) status: &'static str,
    /// The types a prune looks at: `daily`, `weekly`, `monthly`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) backup_types: Option<Vec<BackupType>>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PruneQuery {
    /// `true`, `1` or empty: only say what would go (200); `false` or `0`:
    /// prune (202). Anything else is 400 `invalid_parameter`.
    #[param(value_type = Option<String>, pattern = "^(true|false|1|0|)$")]
    dry_run: Option<String>,
}

/// Prune the expired daily, weekly and monthly backups now
///
/// Under the configured retention; the newest backup of each type and the
/// last backup are never pruned. With `dry_run=true`, nothing is deleted
/// and the answer is what would be (as `GET /api/v1/prune/preview`).
#[utoipa::path(
    post,
    path = "/prune",
    operation_id = "prune",
    tag = "maintenance",
    params(PruneQuery),
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("admin"))),
    responses(
        (status = 200, description = "The dry run: what a prune would delete now", body = PrunePreview),
        (status = 202, description = "Accepted: the prune is queued", body = JobAccepted),
        (status = 400, description = "`invalid_parameter`: `dry_run` is not true or false; `invalid_request`: an unknown parameter", body = ErrorBody),
        (status = 503, description = "`queue_unavailable`", body = ErrorBody),
    )
)]
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
    // After `dry_run` is checked, as it always was.
    let audit = admit::<actions::Prune>(&state, &user, addr, None).await?;
    if dry_run {
        return Ok(JsonResponse(preview_body(&state).await?).into_response());
    }
    let job = Job::Prune {
        backup_types: PRUNED_TYPES.to_vec(),
        requested_by: user.username.clone(),
    };
    let job_id = state.queue.push(job, None).await?;
    let entry = audit.target(job_id.clone());
    state.catalog(move |c| c.append_audit(&entry)).await?;
    let body = JobAccepted {
        job_id,
        status: "in_progress",
        backup_types: Some(PRUNED_TYPES.to_vec()),
    };
    Ok((StatusCode::ACCEPTED, JsonResponse(body)).into_response())
}

/// What a prune would delete now, and why
#[utoipa::path(
    get,
    path = "/prune/preview",
    operation_id = "preview_prune",
    tag = "maintenance",
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("admin"))),
    responses((status = 200, description = "The dry run", body = PrunePreview))
)]
async fn prune_preview(
    State(state): State<AppState>,
    _admitted: Admitted<actions::Prune>,
) -> Result<JsonResponse<PrunePreview>, ApiError> {
    Ok(JsonResponse(preview_body(&state).await?))
}

/// What a prune would delete now: the dry run.
async fn preview_body(state: &AppState) -> Result<PrunePreview, ApiError> {
    let now = Utc::now();
    let settings = state.settings.clone();
    let expired = state
        .catalog(move |c| preview(c, &settings, now, &PRUNED_TYPES))
        .await?;
    Ok(preview_document(&expired, &state.settings, now))
}
