//! `GET /healthz`: the catalog and the queue answer.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.catalog(|c| c.count_users()).await?;
    sqlx_ping(&state).await?;
    Ok(Json(json!({ "status": "ok" })))
}

async fn sqlx_ping(state: &AppState) -> Result<(), ApiError> {
    state
        .queue
        .job_state("health-check")
        .await
        .map(|_| ())
        .map_err(|_| ApiError::QueueUnavailable)
}
