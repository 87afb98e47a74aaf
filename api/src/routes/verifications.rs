//! Integrity verification of backups (SPEC §4, §8): ask for one (202, the
//! worker runs the five checks), read a backup's history, or verify them
//! all (`verify_all.rs`, routed here). A backup is never verified twice at once: asking while it is being
//! verified answers 202 with the running verification's `check_id`.

use axum::Json as JsonResponse;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use nexus_shared::catalog::{AuditEntry, AuditResult, Begun, VerificationStatus};
use nexus_shared::domain::CreatedBy;
use nexus_shared::domain::{BackupId, CheckId};
use nexus_shared::engine::verify::VerifyReport;
use nexus_shared::queue::Job;
use nexus_shared::views::VerificationView;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::BackupIdParam;
use super::verify_all;
use crate::auth::{Admitted, AuthUser, actions};
use crate::error::{ApiError, ErrorBody, backup_not_found};
use crate::extract::{BackupIdPath, Path, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verify_all::verify_all))
        .routes(routes!(verify))
        .routes(routes!(history))
}

/// A verification accepted for the worker, or the one already running.
#[derive(Serialize, ToSchema)]
struct VerifyAccepted {
    check_id: String,
    backup_id: String,
    /// `in_progress`.
    status: VerificationStatus,
}

/// A backup's verifications, newest first.
#[derive(Serialize, ToSchema)]
struct History {
    backup_id: String,
    verifications: Vec<VerificationView>,
}

/// Verify a backup: the five integrity checks
///
/// Answers 202; the worker runs `file_exists`, `file_size`, `checksum`,
/// `decompress` and `sqlite_integrity`. While the backup is being verified
/// already, the same 202 with that verification's `check_id`. Follow it
/// with `GET /api/v1/backups/{id}/verifications`.
#[utoipa::path(
    post,
    path = "/backups/{id}/verify",
    operation_id = "verify_backup",
    tag = "verification",
    params(BackupIdParam),
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("operator"))),
    responses(
        (status = 202, description = "Accepted, or already running", body = VerifyAccepted,
            headers(("Location" = String, description = "`/api/v1/backups/{id}/verifications`"))),
        (status = 400, description = "`invalid_backup_id`", body = ErrorBody),
        (status = 404, description = "`backup_not_found`", body = ErrorBody),
        (status = 409, description = "`backup_not_verifiable`: the backup did not succeed", body = ErrorBody),
        (status = 503, description = "`queue_unavailable`", body = ErrorBody),
    )
)]
async fn verify(
    State(state): State<AppState>,
    Admitted { user, audit, .. }: Admitted<actions::VerifyBackup>,
    BackupIdPath(id): BackupIdPath,
) -> Result<impl IntoResponse, ApiError> {
    let requester = CreatedBy {
        id: Some(user.id),
        username: user.username.clone(),
    };
    let begun = state
        .catalog({
            let id = id.clone();
            move |c| c.begin_verification(&id, &requester, None)
        })
        .await
        .map_err(backup_not_found(&id))?;
    let (verification, detail) = match begun {
        Begun::Started(v) => {
            enqueue(&state, &v.check_id, &id).await?;
            let detail = v.check_id.to_string();
            (v, detail)
        }
        Begun::AlreadyRunning(v) => {
            let detail = format!("{} (already running)", v.check_id);
            (v, detail)
        }
        Begun::NotVerifiable(status) => {
            return Err(ApiError::BackupNotVerifiable {
                backup_id: id.to_string(),
                status: status.as_str(),
            });
        }
    };
    let entry = AuditEntry {
        result: AuditResult::Accepted,
        ..audit
    }
    .target(id.to_string())
    .detail(detail);
    state.catalog(move |c| c.append_audit(&entry)).await?;
    tracing::info!(backup_id = %id, check_id = %verification.check_id, user = %user.username, "verification accepted");
    Ok((
        StatusCode::ACCEPTED,
        [(
            header::LOCATION,
            format!("/api/v1/backups/{id}/verifications"),
        )],
        JsonResponse(VerifyAccepted {
            check_id: verification.check_id.to_string(),
            backup_id: id.to_string(),
            status: verification.status,
        }),
    ))
}

/// Hands a new verification to the worker; if the queue refuses, the
/// verification is closed as failed so that it does not stay in progress.
async fn enqueue(state: &AppState, check_id: &CheckId, id: &BackupId) -> Result<(), ApiError> {
    let job = Job::Verify {
        check_id: check_id.clone(),
        backup_id: id.clone(),
    };
    let check_id = check_id.clone();
    match state.queue.push(job, None).await {
        Ok(job_id) => {
            state
                .catalog(move |c| c.set_verification_job(&check_id, &job_id))
                .await?;
            Ok(())
        }
        Err(e) => {
            tracing::error!(backup_id = %id, error = %e, "cannot enqueue the verification");
            let report = VerifyReport::not_run("the verification could not be queued");
            state
                .catalog(move |c| c.finish_verification(&check_id, &report))
                .await?;
            Err(ApiError::QueueUnavailable)
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// Verifications to skip (default 0).
    #[param(value_type = Option<u64>, minimum = 0, maximum = 4294967295_u64)]
    offset: Option<String>,
}

impl HistoryQuery {
    fn parse(self) -> Result<(u32, u32), ApiError> {
        let number = |parameter, value: Option<String>, default: u32, min: u32, max: u32| {
            value.map_or(Ok(default), |v| {
                v.parse::<u32>()
                    .ok()
                    .filter(|n| (min..=max).contains(n))
                    .ok_or_else(|| ApiError::InvalidParameter {
                        parameter,
                        reason: format!("{v:?} is not a whole number from {min} to {max}"),
                    })
            })
        };
        Ok((
            number("limit", self.limit, 20, 1, 100)?,
            number("offset", self.offset, 0, 0, u32::MAX)?,
        ))
    }
}

/// A backup's verifications, newest first
#[utoipa::path(
    get,
    path = "/backups/{id}/verifications",
    operation_id = "list_verifications",
    tag = "verification",
    params(BackupIdParam, HistoryQuery),
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("viewer"))),
    responses(
        (status = 200, description = "The backup's verifications", body = History),
        (status = 400, description = "`invalid_backup_id`; `invalid_parameter`: `details.parameter` names it; `invalid_request`: an unknown parameter", body = ErrorBody),
        (status = 404, description = "`backup_not_found`", body = ErrorBody),
    )
)]
async fn history(
    State(state): State<AppState>,
    _user: AuthUser,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<JsonResponse<History>, ApiError> {
    // Parsed after the query string is read, so that an unknown parameter
    // is reported before a malformed id, as it always was.
    let id = BackupId::parse(&id)?;
    let (limit, offset) = query.parse()?;
    let verifications = state
        .catalog({
            let id = id.clone();
            move |c| {
                c.get_backup(&id)?;
                c.list_verifications(&id, limit, offset)
            }
        })
        .await
        .map_err(backup_not_found(&id))?;
    let tz = state.settings.tz();
    let views: Vec<VerificationView> = verifications
        .into_iter()
        .map(|v| VerificationView::new(v, tz))
        .collect();
    Ok(JsonResponse(History {
        backup_id: id.to_string(),
        verifications: views,
    }))
}
