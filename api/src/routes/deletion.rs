//! `DELETE /api/v1/backups/{id}` (SPEC §5, guide §6): admin only. The
//! file, its manifest and the record go together. Refused with 409:
//! `latest_backup_protected` for the newest successful daily, weekly or
//! monthly backup (manual and before_restore backups are not protected
//! this way, as in the guide's §6.1), `last_backup_protected` when no other
//! successful backup would remain, `backup_in_progress` while it runs.
//! Failed records have no file and may always be deleted. Answers 200
//! `{"backup_id", "deleted": true}`. Routed in `backups.rs`, beside `GET`.

use axum::Json as JsonResponse;
use axum::extract::State;
use nexus_shared::blocking::blocking;
use nexus_shared::catalog::{AuditEntry, AuditResult};
use nexus_shared::retention::Refusal;
use nexus_shared::service::deletion::{self, DeleteError};
use serde::Serialize;
use utoipa::ToSchema;

use super::params::BackupIdParam;
use crate::auth::{Admitted, actions};
use crate::error::{ApiError, ErrorBody};
use crate::extract::BackupIdPath;
use crate::state::AppState;

/// A deleted backup.
#[derive(Serialize, ToSchema)]
pub struct Deleted {
    backup_id: String,
    /// Always `true`.
    deleted: bool,
}

/// Delete a backup: its file, its manifest and its record
///
/// Refused with 409 for the newest successful daily, weekly or monthly
/// backup, for the last successful backup, and while it runs.
#[utoipa::path(
    delete,
    path = "/backups/{id}",
    operation_id = "delete_backup",
    tag = "backups",
    params(BackupIdParam),
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("admin"))),
    responses(
        (status = 200, description = "Deleted", body = Deleted),
        (status = 400, description = "`invalid_backup_id`", body = ErrorBody),
        (status = 404, description = "`backup_not_found`", body = ErrorBody),
        (status = 409, description = "`latest_backup_protected`, `last_backup_protected` or `backup_in_progress`", body = ErrorBody),
    )
)]
pub async fn delete_backup(
    State(state): State<AppState>,
    Admitted { user, audit, .. }: Admitted<actions::DeleteBackup>,
    BackupIdPath(id): BackupIdPath,
) -> Result<JsonResponse<Deleted>, ApiError> {
    let (catalog, root, target) = (
        state.catalog.clone(),
        state.settings.backup_root.clone(),
        id.clone(),
    );
    let outcome = blocking(move || deletion::delete_backup(&catalog, &root, &target)).await?;

    let (result, detail) = match &outcome {
        Ok(record) => (
            AuditResult::Success,
            format!("{}", record.file_path.display()),
        ),
        Err(e) => (AuditResult::Failure, e.to_string()),
    };
    let entry = AuditEntry { result, ..audit }
        .target(id.to_string())
        .detail(detail);
    state.catalog(move |c| c.append_audit(&entry)).await?;

    match outcome {
        Ok(_) => {
            tracing::info!(backup_id = %id, user = %user.username, "Backup {id} deleted");
            Ok(JsonResponse(Deleted {
                backup_id: id.to_string(),
                deleted: true,
            }))
        }
        Err(e) => Err(match e {
            DeleteError::NotFound(id) => ApiError::BackupNotFound(id.to_string()),
            DeleteError::Refused { id, refusal } => match refusal {
                Refusal::LatestOfType(t) => ApiError::LatestBackupProtected {
                    backup_id: id.to_string(),
                    backup_type: t.as_str(),
                },
                Refusal::LastBackup => ApiError::LastBackupProtected(id.to_string()),
                Refusal::InProgress => ApiError::BackupInProgress(id.to_string()),
            },
            DeleteError::Catalog(e) => e.into(),
            e @ DeleteError::Io { .. } => ApiError::Internal(e.into()),
        }),
    }
}
