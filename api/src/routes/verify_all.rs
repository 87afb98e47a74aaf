//! `POST /api/v1/backups/verify-all`: one job verifies every successful
//! backup. Routed in `verifications.rs`.

use axum::Json as JsonResponse;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use nexus_shared::catalog::{AuditEntry, AuditResult};
use nexus_shared::domain::CreatedBy;
use nexus_shared::queue::Job;
use nexus_shared::views::local_time;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Admitted, actions};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// A verification of every successful backup, accepted for the worker.
#[derive(Serialize, ToSchema)]
pub(super) struct VerifyAllAccepted {
    job_id: String,
    /// Always `in_progress`.
    #[schema(example = "in_progress")]
    status: &'static str,
    requested_by: CreatedBy,
    requested_at: String,
}

/// Verify every successful backup
///
/// One job verifies every successful backup in turn (one decompressed copy
/// at a time), recording each result as a verification of that backup
/// with `requested_by` this user: follow them with
/// `GET /api/v1/backups/{id}/verifications`.
#[utoipa::path(
    post,
    path = "/backups/verify-all",
    operation_id = "verify_all_backups",
    tag = "verification",
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("operator"))),
    responses(
        (status = 202, description = "Accepted: the job is queued", body = VerifyAllAccepted),
        (status = 503, description = "`queue_unavailable`", body = ErrorBody),
    )
)]
pub(super) async fn verify_all(
    State(state): State<AppState>,
    Admitted { user, audit, .. }: Admitted<actions::VerifyAll>,
) -> Result<impl IntoResponse, ApiError> {
    let requested_at = chrono::Utc::now();
    let job = Job::VerifyAll {
        requested_by: user.username.clone(),
    };
    let job_id = state
        .queue
        .push(job, None)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "cannot enqueue verify-all"))?;
    let entry = AuditEntry {
        result: AuditResult::Accepted,
        ..audit
    }
    .detail(format!("job {job_id}"));
    state.catalog(move |c| c.append_audit(&entry)).await?;
    tracing::info!(%job_id, user = %user.username, "verify-all accepted");
    Ok((
        StatusCode::ACCEPTED,
        JsonResponse(VerifyAllAccepted {
            job_id,
            status: "in_progress",
            requested_by: CreatedBy {
                id: Some(user.id),
                username: user.username,
            },
            requested_at: local_time(requested_at, state.settings.tz()),
        }),
    ))
}
