//! `POST /api/v1/reconcile` (admin, 202: a reconciliation job) and
//! `GET /api/v1/reconcile` (any role: the last report). Routed in
//! `maintenance.rs`.

use axum::Json as JsonResponse;
use axum::extract::State;
use axum::http::StatusCode;
use nexus_shared::catalog::ReconcileReport;
use nexus_shared::queue::Job;
use nexus_shared::views::local_time;
use serde::Serialize;
use utoipa::ToSchema;

use super::maintenance::JobAccepted;
use crate::auth::{Admitted, AuthUser, actions};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The last reconciliation's findings; empty, with `checked_at` null,
/// before the first.
#[derive(Serialize, ToSchema)]
pub(super) struct ReconcileView {
    /// Backup files that no record describes.
    orphan_files: Vec<OrphanFileView>,
    /// Successful backups whose file is gone.
    missing_files: Vec<MissingFileView>,
    /// Backup ids whose interrupted deletion this reconciliation finished.
    finished_deletions: Vec<String>,
    checked_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct OrphanFileView {
    file_path: String,
    /// The id its name stands for; null when it is not a backup's name.
    backup_id: Option<String>,
    file_size: u64,
    /// A manifest is beside it, so `nexus-backup reindex` can rebuild its record.
    has_manifest: bool,
}

#[derive(Serialize, ToSchema)]
pub(super) struct MissingFileView {
    backup_id: String,
    file_path: String,
}

/// Reconcile the catalog with the backup folder now
///
/// Finds backup files without a record and records without a file, and
/// finishes deletions a crash interrupted; the report is
/// `GET /api/v1/reconcile`.
#[utoipa::path(
    post,
    path = "/reconcile",
    operation_id = "reconcile",
    tag = "maintenance",
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("admin"))),
    responses(
        (status = 202, description = "Accepted: the reconciliation is queued", body = JobAccepted),
        (status = 503, description = "`queue_unavailable`", body = ErrorBody),
    )
)]
pub(super) async fn reconcile(
    State(state): State<AppState>,
    Admitted { user, audit, .. }: Admitted<actions::Reconcile>,
) -> Result<(StatusCode, JsonResponse<JobAccepted>), ApiError> {
    let job = Job::Reconcile {
        requested_by: user.username.clone(),
    };
    let job_id = state.queue.push(job, None).await?;
    let entry = audit.target(job_id.clone());
    state.catalog(move |c| c.append_audit(&entry)).await?;
    Ok((
        StatusCode::ACCEPTED,
        JsonResponse(JobAccepted {
            job_id,
            status: "in_progress",
            backup_types: None,
        }),
    ))
}

/// The last reconciliation's report
#[utoipa::path(
    get,
    path = "/reconcile",
    operation_id = "get_reconcile_report",
    tag = "maintenance",
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("viewer"))),
    responses((status = 200, description = "The last report", body = ReconcileView))
)]
pub(super) async fn last_reconcile(
    State(state): State<AppState>,
    _user: AuthUser,
) -> Result<JsonResponse<ReconcileView>, ApiError> {
    let report = state.catalog(|c| c.last_reconcile_report()).await?;
    Ok(JsonResponse(report_view(report.as_ref(), &state)))
}

fn report_view(report: Option<&ReconcileReport>, state: &AppState) -> ReconcileView {
    let (root, tz) = (&state.settings.backup_root, state.settings.tz());
    let path = |p: &std::path::Path| root.join(p).display().to_string();
    let Some(r) = report else {
        return ReconcileView {
            orphan_files: Vec::new(),
            missing_files: Vec::new(),
            finished_deletions: Vec::new(),
            checked_at: None,
        };
    };
    ReconcileView {
        orphan_files: r
            .orphan_files
            .iter()
            .map(|o| OrphanFileView {
                file_path: path(&o.path),
                backup_id: o.backup_id.as_ref().map(ToString::to_string),
                file_size: o.size,
                has_manifest: o.has_manifest,
            })
            .collect(),
        missing_files: r
            .missing_files
            .iter()
            .map(|m| MissingFileView {
                backup_id: m.backup_id.to_string(),
                file_path: path(&m.path),
            })
            .collect(),
        finished_deletions: r
            .finished_deletions
            .iter()
            .map(ToString::to_string)
            .collect(),
        checked_at: Some(local_time(r.checked_at, tz)),
    }
}
