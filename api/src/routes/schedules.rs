//! `GET /api/v1/schedules` (any role): each schedule with its cron
//! expression, timezone, next run and last slot fired, and the retention.

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json as JsonResponse, Router};
use chrono::Utc;
use nexus_shared::schedule::Schedule;
use serde_json::{Value, json};

use super::views::local_time;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/schedules", get(list))
}

async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
) -> Result<JsonResponse<Value>, ApiError> {
    let runs: HashMap<String, _> = state
        .catalog(|c| c.schedule_runs())
        .await?
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    let (settings, now) = (&state.settings, Utc::now());
    let tz = settings.tz();
    let schedules: Vec<Value> = Schedule::all(&settings.schedule)
        .iter()
        .map(|s| {
            let last = runs.get(s.name).and_then(|r| r.last_slot);
            json!({
                "name": s.name,
                "kind": s.action.kind(),
                "backup_type": s.action.backup_type(),
                "cron": s.trigger.as_cron().map(|c| c.as_str()),
                "enabled": s.trigger.as_cron().is_some(),
                "timezone": tz.name(),
                "next_run": s.next_run(now, tz).map(|t| local_time(t.to_utc(), tz)),
                "last_run": last.map(|t| local_time(t, tz)),
            })
        })
        .collect();
    Ok(JsonResponse(json!({
        "timezone": tz.name(),
        "catch_up": settings.schedule.catch_up,
        "retention": settings.retention,
        "schedules": schedules,
    })))
}
