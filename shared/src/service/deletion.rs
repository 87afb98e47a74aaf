//! Deleting a backup: file, manifest and record together (SPEC §5), in an
//! order a crash cannot turn into a record pointing at nothing unnoticed.
//!
//! 1. The rules are checked and the record marked `deleting` in one
//!    transaction.
//! 2. The file goes, then its manifest; the folder is synced.
//! 3. The record goes.
//!
//! A crash after 1 leaves a marked record, which reconciliation finds and
//! finishes. If the file cannot be removed, the mark is taken back and the
//! backup stays whole. Blocking: async callers use a blocking thread.

use std::io;
use std::path::{Path, PathBuf};

use crate::catalog::{BackupRecord, Catalog, CatalogError};
use crate::domain::BackupId;
use crate::engine::manifest::manifest_path;
use crate::fsutil;
use crate::retention::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error("backup {0} does not exist")]
    NotFound(BackupId),
    #[error("backup {id} cannot be deleted: {refusal}")]
    Refused { id: BackupId, refusal: Refusal },
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("cannot remove {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// Deletes the backup `id` if the rules allow; returns its record as it was.
pub fn delete_backup(
    catalog: &Catalog,
    backup_root: &Path,
    id: &BackupId,
) -> Result<BackupRecord, DeleteError> {
    let record = match catalog.begin_deletion(id) {
        Ok(Ok(record)) => record,
        Ok(Err(refusal)) => {
            return Err(DeleteError::Refused {
                id: id.clone(),
                refusal,
            });
        }
        Err(CatalogError::NotFound) => return Err(DeleteError::NotFound(id.clone())),
        Err(e) => return Err(e.into()),
    };
    if let Err(e) = remove_files(backup_root, id) {
        if let Err(c) = catalog.cancel_deletion(id) {
            tracing::error!(backup_id = %id, error = %c, "cannot take back the deletion mark; reconciliation will retry the deletion");
        }
        return Err(e);
    }
    catalog.finish_deletion(id)?;
    Ok(record)
}

/// Removes the backup's file and then its manifest, durably. A file that
/// is already gone is no error. Once the file is gone the backup is gone:
/// a manifest that cannot be removed only earns a warning (a manifest
/// without its file is never reindexed).
pub(crate) fn remove_files(backup_root: &Path, id: &BackupId) -> Result<(), DeleteError> {
    let file = backup_root.join(id.relative_path());
    fsutil::remove_if_exists(&file).map_err(|source| DeleteError::Io {
        path: file.clone(),
        source,
    })?;
    let manifest = manifest_path(&file);
    if let Err(e) = fsutil::remove_if_exists(&manifest) {
        tracing::warn!(path = %manifest.display(), error = %e, "cannot remove the manifest of a deleted backup");
    }
    let dir = file
        .parent()
        .expect("a backup file is inside its type folder");
    match fsutil::sync_dir(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            tracing::warn!(path = %dir.display(), error = %e, "cannot sync the folder after a deletion");
        }
        _ => {}
    }
    Ok(())
}
