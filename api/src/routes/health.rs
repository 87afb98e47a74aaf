//! `GET /healthz`: the catalog and the queue answer.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`: the catalog and the queue both answered.
    #[schema(example = "ok")]
    status: &'static str,
}

/// Whether the service can work
///
/// For load balancers and service managers; no login needed.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "health",
    tag = "service",
    responses(
        (status = 200, description = "The catalog and the queue answer", body = Health),
        (status = 503, description = "`queue_unavailable`: the job queue does not answer", body = ErrorBody),
    )
)]
async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.catalog(|c| c.count_users()).await?;
    sqlx_ping(&state).await?;
    Ok(Json(Health { status: "ok" }))
}

async fn sqlx_ping(state: &AppState) -> Result<(), ApiError> {
    state
        .queue
        .job_state("health-check")
        .await
        .map(|_| ())
        .map_err(ApiError::from)
}
