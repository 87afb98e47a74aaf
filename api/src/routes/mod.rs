//! The HTTP surface: one module per resource, merged here.
//!
//! [`documented`] holds every route that the API document describes
//! (`/healthz` and everything under `/api/v1`): each module registers its
//! handlers with utoipa-axum's `routes!`, so a route and its entry in the
//! document come from one registration. The web UI's files are not in it.

mod audit;
mod auth;
mod backups;
mod creation;
mod deletion;
mod document;
mod health;
mod maintenance;
mod metrics;
mod notifications;
mod offsite;
mod params;
mod reconcile;
mod recovery;
mod restore_request;
mod restores;
mod schedules;
mod storage;
mod verifications;
mod verify_all;
mod web;

use std::collections::BTreeSet;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::state::AppState;

/// The routes of the API document, with the document's paths.
pub(crate) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::base())
        .merge(health::router())
        .merge(metrics::router())
        .nest(
            "/api/v1",
            OpenApiRouter::new()
                .merge(audit::router())
                .merge(auth::router())
                .merge(backups::router())
                .merge(document::router())
                .merge(maintenance::router())
                .merge(notifications::router())
                .merge(offsite::router())
                .merge(recovery::router())
                .merge(restores::router())
                .merge(schedules::router())
                .merge(storage::router())
                .merge(verifications::router()),
        )
}

/// The paths the router matches that are the API's (`/healthz`, `/metrics`
/// and everything under `/api/v1`, not the web UI's files), read from the
/// router itself: axum prints them in its `Debug` output as
/// `RouteId(n): "/path"`. Tests hold every route to its documentation and
/// its role with this, so one added with a plain `.route(..)` is not missed.
pub fn paths() -> BTreeSet<String> {
    let printed = format!("{:?}", router());
    printed
        .split("): \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|p| !p.contains("__private__"))
        .filter(|p| p.starts_with("/api/v1/") || ["/healthz", "/metrics"].contains(p))
        .map(str::to_owned)
        .collect()
}

pub fn router() -> Router<AppState> {
    let (api, _) = documented().split_for_parts();
    api.merge(web::router())
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}
