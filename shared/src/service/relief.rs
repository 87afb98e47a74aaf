//! At the ERROR level (guide §7.3, §8.5): delete the oldest automatic
//! backups until the backup filesystem is under the target again, never a
//! protected one (the newest of its type, the last one) and never a manual
//! or before_restore backup.

use std::path::Path;

use super::deletion::{DeleteError, delete_backup};
use crate::catalog::{BackupFilter, Catalog, CatalogError};
use crate::domain::{BackupId, BackupStatus, BackupType};
use crate::fsutil;

/// Deletes old automatic backups, oldest first, until usage is under
/// `target_percent` or nothing deletable is left. Returns what it deleted.
pub fn relieve(
    catalog: &Catalog,
    backup_root: &Path,
    target_percent: f64,
) -> Result<Vec<BackupId>, CatalogError> {
    let mut candidates = Vec::new();
    for backup_type in [BackupType::Daily, BackupType::Weekly, BackupType::Monthly] {
        let filter = BackupFilter {
            backup_type: Some(backup_type),
            status: Some(BackupStatus::Success),
            limit: u32::MAX,
            offset: 0,
        };
        let (records, _) = catalog.list_backups(&filter)?;
        // Newest first: the first of each type is protected; skip it here
        // too so the oldest of all types go first.
        candidates.extend(records.into_iter().skip(1));
    }
    candidates.sort_by_key(|r| r.started_at);

    let mut deleted = Vec::new();
    for record in candidates {
        let usage = fsutil::disk_usage(backup_root)?;
        if usage.used_percent < target_percent {
            break;
        }
        match delete_backup(catalog, backup_root, &record.id) {
            Ok(_) => {
                tracing::warn!(backup_id = %record.id, used_percent = usage.used_percent, "deleted an old automatic backup to free space");
                deleted.push(record.id);
            }
            Err(DeleteError::Refused { .. } | DeleteError::NotFound(_)) => {}
            Err(DeleteError::Catalog(e)) => return Err(e),
            Err(e) => {
                tracing::error!(backup_id = %record.id, error = %e, "cannot delete a backup to free space")
            }
        }
    }
    Ok(deleted)
}
