//! `GET /api/v1/schedules` (any role): each schedule with its cron
//! expression, timezone, next run and last slot fired, and the retention.

use std::collections::HashMap;

use axum::Json as JsonResponse;
use axum::extract::State;
use chrono::Utc;
use nexus_shared::domain::BackupType;
use nexus_shared::schedule::Schedule;
use nexus_shared::settings::RetentionSettings;
use nexus_shared::views::local_time;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// The schedules and the retention.
#[derive(Serialize, ToSchema)]
struct Schedules {
    /// The IANA zone the cron expressions run in, e.g. `Asia/Tokyo`.
    timezone: String,
    /// At start-up, the latest slot missed while the service was down runs once.
    catch_up: bool,
    retention: RetentionSettings,
    schedules: Vec<ScheduleView>,
}

/// One schedule; a turned-off one has `cron` null and `enabled` false.
#[derive(Serialize, ToSchema)]
struct ScheduleView {
    /// E.g. `daily`, `prune_daily`, `verify_all`, `disk_check`.
    name: &'static str,
    /// `backup`, `verify_all`, `prune`, `reconcile` or `disk_check`.
    kind: &'static str,
    /// The backup type a `backup` or `prune` schedule concerns.
    backup_type: Option<BackupType>,
    cron: Option<String>,
    enabled: bool,
    timezone: String,
    next_run: Option<String>,
    /// The last slot fired.
    last_run: Option<String>,
}

/// The schedules: cron, next run, last slot fired; and the retention
#[utoipa::path(
    get,
    path = "/schedules",
    operation_id = "list_schedules",
    tag = "maintenance",
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("viewer"))),
    responses((status = 200, description = "The schedules", body = Schedules))
)]
async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
) -> Result<JsonResponse<Schedules>, ApiError> {
    let runs: HashMap<String, _> = state
        .catalog(|c| c.schedule_runs())
        .await?
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    let (settings, now) = (&state.settings, Utc::now());
    let tz = settings.tz();
    let schedules = Schedule::all(&settings.schedule)
        .iter()
        .map(|s| {
            let last = runs.get(s.name).and_then(|r| r.last_slot);
            ScheduleView {
                name: s.name,
                kind: s.action.kind(),
                backup_type: s.action.backup_type(),
                cron: s.trigger.as_cron().map(|c| c.as_str().to_owned()),
                enabled: s.trigger.as_cron().is_some(),
                timezone: tz.name().to_owned(),
                next_run: s.next_run(now, tz).map(|t| local_time(t.to_utc(), tz)),
                last_run: last.map(|t| local_time(t, tz)),
            }
        })
        .collect();
    Ok(JsonResponse(Schedules {
        timezone: tz.name().to_owned(),
        catch_up: settings.schedule.catch_up,
        retention: settings.retention.clone(),
        schedules,
    }))
}
