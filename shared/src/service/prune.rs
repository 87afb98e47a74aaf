//! The prune (SPEC §2): removes the expired daily, weekly and monthly
//! backups under the configured retention. [`preview`] is the dry run the
//! API and the CLI show; [`prune`] deletes what it lists, each deletion
//! going through the deletion rules again. Blocking.

use chrono::{DateTime, Utc};

use super::deletion::{DeleteError, delete_backup};
use crate::catalog::{AuditEntry, AuditResult, Catalog, CatalogError, format_local};
use crate::domain::{BackupId, BackupType};
use crate::retention::{self, Expired};
use crate::settings::Settings;

/// The types the prune looks at.
pub const PRUNED_TYPES: [BackupType; 3] =
    [BackupType::Daily, BackupType::Weekly, BackupType::Monthly];

/// What a prune of `types` would remove at `now`, oldest first.
pub fn preview(
    catalog: &Catalog,
    settings: &Settings,
    now: DateTime<Utc>,
    types: &[BackupType],
) -> Result<Vec<Expired>, CatalogError> {
    let records = catalog.backup_summaries()?;
    let mut expired = retention::expired(&records, now, &settings.retention, settings.tz());
    expired.retain(|e| types.contains(&e.record.id.backup_type()));
    Ok(expired)
}

/// The dry run as the API and the CLI show it: what would go, and why.
#[derive(Debug, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrunePreview {
    /// Always `true`: nothing was deleted.
    pub dry_run: bool,
    pub checked_at: String,
    pub retention: crate::retention::RetentionSettings,
    /// Oldest first.
    pub would_delete: Vec<PruneCandidate>,
}

/// A backup the prune would delete.
#[derive(Debug, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PruneCandidate {
    pub backup_id: String,
    pub backup_type: BackupType,
    pub status: crate::domain::BackupStatus,
    pub started_at: String,
    pub file_path: String,
    /// The period it is older than, e.g. `7 days` or `12 months`.
    pub retention: String,
    /// Backups of its type started before this have expired.
    pub expired_before: String,
}

/// The dry run of a prune at `now` that would delete `expired`.
pub fn preview_document(
    expired: &[Expired],
    settings: &Settings,
    now: DateTime<Utc>,
) -> PrunePreview {
    let tz = settings.tz();
    let would_delete = expired
        .iter()
        .map(|e| {
            let id = &e.record.id;
            PruneCandidate {
                backup_id: id.to_string(),
                backup_type: id.backup_type(),
                status: e.record.status,
                started_at: format_local(e.record.started_at, tz),
                file_path: settings
                    .backup_root
                    .join(id.relative_path())
                    .display()
                    .to_string(),
                retention: e.period.to_string(),
                expired_before: format_local(e.cutoff, tz),
            }
        })
        .collect();
    PrunePreview {
        dry_run: true,
        checked_at: format_local(now, tz),
        retention: settings.retention.clone(),
        would_delete,
    }
}

/// What a prune did.
#[derive(Debug, Default)]
pub struct PruneOutcome {
    pub deleted: Vec<Expired>,
    /// Expired backups that stayed, with the reason.
    pub kept: Vec<(BackupId, String)>,
}

/// Deletes what [`preview`] lists, auditing each deletion as
/// `backup.delete` by the actor of `audit` (its action, target, result and
/// detail are filled in here). A deletion that fails is logged and the
/// prune goes on with the next; only a catalog that cannot be read stops it.
pub fn prune(
    catalog: &Catalog,
    settings: &Settings,
    now: DateTime<Utc>,
    types: &[BackupType],
    audit: &AuditEntry,
) -> Result<PruneOutcome, CatalogError> {
    let mut outcome = PruneOutcome::default();
    for expired in preview(catalog, settings, now, types)? {
        let id = expired.record.id.clone();
        let why = format!(
            "expired: older than {} (started before {})",
            expired.period,
            expired.cutoff.with_timezone(&settings.tz()).to_rfc3339()
        );
        let entry = AuditEntry {
            action: "backup.delete",
            ..audit.clone()
        }
        .target(id.to_string());
        match delete_backup(catalog, &settings.backup_root, &id) {
            Ok(_) => {
                tracing::info!(backup_id = %id, "Pruned backup {id}: deleted ({why})");
                let entry = AuditEntry {
                    result: AuditResult::Success,
                    ..entry
                };
                catalog.append_audit(&entry.detail(format!("pruned, {why}")))?;
                outcome.deleted.push(expired);
            }
            Err(DeleteError::Catalog(e)) => return Err(e),
            Err(DeleteError::NotFound(_)) => {} // deleted meanwhile
            Err(e) => {
                tracing::warn!(backup_id = %id, error = %e, "Pruning backup {id}: not deleted");
                let entry = AuditEntry {
                    result: AuditResult::Failure,
                    ..entry
                };
                catalog.append_audit(&entry.detail(format!("prune: {e}")))?;
                outcome.kept.push((id, e.to_string()));
            }
        }
    }
    Ok(outcome)
}
