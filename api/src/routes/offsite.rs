//! Offsite copies (additions to SPEC §8, see the README):
//! `GET /api/v1/offsite` lists the copies in the bucket and how copies are
//! made; `POST /api/v1/backups/{id}/offsite` (re)makes a backup's copy and
//! `POST /api/v1/backups/{id}/offsite/verify` reads it back and checks it.
//! Both answer 202: the worker does the work, the backup's `copies.offsite`
//! shows how it went.

use axum::Json as JsonResponse;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use nexus_shared::catalog::{AuditEntry, AuditResult};
use nexus_shared::domain::{BackupId, BackupStatus};
use nexus_shared::queue::Job;
use nexus_shared::settings::RetentionSettings;
use nexus_shared::views::OffsiteView;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::BackupIdParam;
use crate::auth::{Admitted, AuthUser, actions};
use crate::error::{ApiError, ErrorBody, backup_not_found};
use crate::extract::BackupIdPath;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(upload))
        .routes(routes!(verify))
}

/// The offsite copies and how they are made.
#[derive(Serialize, ToSchema)]
struct OffsiteList {
    /// A bucket is configured.
    configured: bool,
    /// `s3://<bucket>/<prefix>`; null when not configured.
    bucket: Option<String>,
    /// Copies are encrypted (an age key is configured).
    encrypted: bool,
    /// The public key the newest encrypted copy was encrypted to.
    encrypted_to: Option<String>,
    /// How long copies stay in the bucket.
    retention: RetentionSettings,
    /// Oldest first.
    copies: Vec<OffsiteView>,
}

/// An offsite job accepted for the worker.
#[derive(Serialize, ToSchema)]
struct OffsiteQueued {
    backup_id: String,
    job_id: String,
    /// Always `queued`.
    #[schema(example = "queued")]
    status: &'static str,
}

pub(super) fn bucket_name(state: &AppState) -> &str {
    state.settings.offsite.bucket.as_deref().unwrap_or_default()
}

/// The offsite copies in the bucket, and how copies are made
///
/// `encrypted_to` is the key the newest encrypted copy needs, as recorded:
/// the API never reads the private key file (only the worker needs it).
#[utoipa::path(
    get,
    path = "/offsite",
    operation_id = "list_offsite_copies",
    tag = "offsite",
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("viewer"))),
    responses((status = 200, description = "The copies, oldest first", body = OffsiteList))
)]
async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
) -> Result<JsonResponse<OffsiteList>, ApiError> {
    let copies = state.catalog(|c| c.list_offsite_copies()).await?;
    let settings = &state.settings.offsite;
    let tz = state.settings.tz();
    let recipient = copies.iter().rev().find_map(|c| c.encrypted_to.clone());
    let copies: Vec<OffsiteView> = copies
        .into_iter()
        .map(|c| OffsiteView::new(c, bucket_name(&state), tz))
        .collect();
    Ok(JsonResponse(OffsiteList {
        configured: settings.enabled(),
        bucket: settings
            .enabled()
            .then(|| format!("s3://{}/{}", bucket_name(&state), settings.prefix)),
        encrypted: settings.encryption_key_file.is_some(),
        encrypted_to: recipient,
        retention: settings.retention.clone(),
        copies,
    }))
}

/// Make (or make again) a backup's offsite copy
///
/// Answers 202; the worker uploads. The backup's `copies.offsite` shows how
/// it went.
#[utoipa::path(
    post,
    path = "/backups/{id}/offsite",
    operation_id = "make_offsite_copy",
    tag = "offsite",
    params(BackupIdParam),
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("operator"))),
    responses(
        (status = 202, description = "Accepted: the upload is queued", body = OffsiteQueued),
        (status = 400, description = "`invalid_backup_id`", body = ErrorBody),
        (status = 404, description = "`backup_not_found`", body = ErrorBody),
        (status = 409, description = "`backup_not_verifiable`: the backup did not succeed", body = ErrorBody),
        (status = 503, description = "`offsite_not_configured`: no bucket; `queue_unavailable`", body = ErrorBody),
    )
)]
async fn upload(
    State(state): State<AppState>,
    Admitted { audit, .. }: Admitted<actions::RequestOffsite>,
    BackupIdPath(id): BackupIdPath,
) -> Result<impl IntoResponse, ApiError> {
    configured(&state)?;
    let record = state
        .catalog({
            let id = id.clone();
            move |c| c.get_backup(&id)
        })
        .await
        .map_err(backup_not_found(&id))?;
    if record.status != BackupStatus::Success {
        return Err(ApiError::BackupNotVerifiable {
            backup_id: id.to_string(),
            status: record.status.as_str(),
        });
    }
    let job = Job::Offsite {
        backup_id: id.clone(),
    };
    accepted(&state, job, audit, &id).await
}

/// Read a backup's offsite copy back and check it
///
/// Answers 202; the worker downloads the copy and compares it with what
/// was uploaded. The copy's `check_result` is `null` from then until the
/// new result is recorded.
#[utoipa::path(
    post,
    path = "/backups/{id}/offsite/verify",
    operation_id = "verify_offsite_copy",
    tag = "offsite",
    params(BackupIdParam),
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("operator"))),
    responses(
        (status = 202, description = "Accepted: the check is queued", body = OffsiteQueued),
        (status = 400, description = "`invalid_backup_id`", body = ErrorBody),
        (status = 409, description = "`offsite_copy_not_stored`: the backup has no stored copy (`details.offsite_state` says what there is)", body = ErrorBody),
        (status = 503, description = "`offsite_not_configured`: no bucket; `queue_unavailable`", body = ErrorBody),
    )
)]
async fn verify(
    State(state): State<AppState>,
    Admitted { user, audit, .. }: Admitted<actions::VerifyOffsite>,
    BackupIdPath(id): BackupIdPath,
) -> Result<impl IntoResponse, ApiError> {
    configured(&state)?;
    let begun = state
        .catalog({
            let id = id.clone();
            move |c| c.begin_offsite_check(&id)
        })
        .await?;
    if !begun {
        let copy = state
            .catalog({
                let id = id.clone();
                move |c| c.get_offsite_copy(&id)
            })
            .await?;
        return Err(ApiError::OffsiteCopyNotStored {
            backup_id: id.to_string(),
            state: copy.map(|c| c.state.as_str()),
        });
    }
    let job = Job::OffsiteCheck {
        backup_id: id.clone(),
        requested_by: user.username.clone(),
    };
    accepted(&state, job, audit, &id).await
}

/// What both offsite actions check once the user and the id are known.
fn configured(state: &AppState) -> Result<(), ApiError> {
    if state.settings.offsite.enabled() {
        Ok(())
    } else {
        Err(ApiError::OffsiteNotConfigured)
    }
}

async fn accepted(
    state: &AppState,
    job: Job,
    audit: AuditEntry,
    id: &BackupId,
) -> Result<impl IntoResponse + use<>, ApiError> {
    let job_id = state.queue.push(job, None).await.inspect_err(
        |e| tracing::error!(backup_id = %id, error = %e, "cannot enqueue the offsite job"),
    )?;
    let entry = AuditEntry {
        result: AuditResult::Accepted,
        ..audit
    }
    .target(id.to_string())
    .detail(format!("job {job_id}"));
    state.catalog(move |c| c.append_audit(&entry)).await?;
    Ok((
        StatusCode::ACCEPTED,
        JsonResponse(OffsiteQueued {
            backup_id: id.to_string(),
            job_id,
            status: "queued",
        }),
    ))
}
