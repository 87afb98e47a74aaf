//! The HTTP surface: one module per resource, merged here.

mod audit;
mod auth;
mod backups;
mod deletion;
mod health;
mod maintenance;
mod metrics;
mod notifications;
mod offsite;
mod restores;
mod schedules;
mod storage;
mod verifications;
mod views;
mod web;

use axum::Router;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(metrics::router())
        .merge(web::router())
        .nest(
            "/api/v1",
            Router::new()
                .merge(audit::router())
                .merge(auth::router())
                .merge(backups::router())
                .merge(maintenance::router())
                .merge(notifications::router())
                .merge(offsite::router())
                .merge(restores::router())
                .merge(schedules::router())
                .merge(storage::router())
                .merge(verifications::router()),
        )
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}
