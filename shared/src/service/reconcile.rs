//! Keeping the catalog and the backup folder in step (SPEC §5, guide §6.3,
//! §8.4). [`reconcile`] finds backup files no record describes and
//! successful records whose file is gone, finishes deletions a crash
//! interrupted, and stores the report. [`reindex`] rebuilds the records of
//! orphan files from their sidecar manifests. Blocking.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::deletion::{DeleteError, remove_files};
use crate::catalog::{Catalog, CatalogError, MissingFile, OrphanFile, ReconcileReport};
use crate::domain::{BackupId, BackupStatus, BackupType};
use crate::engine::manifest::{self, manifest_path};
use crate::retention::BackupSummary;

/// A deletion mark older than this belongs to a deletion that died; a live
/// one removes its files in milliseconds.
const INTERRUPTED_AFTER: TimeDelta = TimeDelta::seconds(60);

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// Compares the backup folder with the catalog, stores and returns the report.
pub fn reconcile(
    catalog: &Catalog,
    backup_root: &Path,
    now: DateTime<Utc>,
) -> Result<ReconcileReport, ReconcileError> {
    let mut finished_deletions = Vec::new();
    for pending in catalog.pending_deletions()? {
        if now - pending.since < INTERRUPTED_AFTER {
            continue;
        }
        match remove_files(backup_root, &pending.id) {
            Ok(()) => {
                catalog.finish_deletion(&pending.id)?;
                tracing::warn!(backup_id = %pending.id, "finished an interrupted deletion of backup {}", pending.id);
                finished_deletions.push(pending.id);
            }
            Err(DeleteError::Catalog(e)) => return Err(e.into()),
            Err(e) => {
                tracing::error!(backup_id = %pending.id, error = %e, "cannot finish an interrupted deletion")
            }
        }
    }

    let records = catalog.backup_summaries()?;
    let orphan_files = orphan_files(&known_ids(catalog, &records)?, backup_root)?;
    let missing_files: Vec<MissingFile> = records
        .iter()
        .filter(|r| r.status == BackupStatus::Success)
        .filter(|r| !backup_root.join(r.id.relative_path()).exists())
        .map(|r| MissingFile {
            backup_id: r.id.clone(),
            path: r.id.relative_path(),
        })
        .collect();

    for m in &missing_files {
        tracing::warn!(backup_id = %m.backup_id, path = %m.path.display(), "reconcile: the record's backup file is missing");
    }
    for o in &orphan_files {
        tracing::warn!(path = %o.path.display(), has_manifest = o.has_manifest, "reconcile: a backup file has no record");
    }
    let report = ReconcileReport {
        checked_at: now,
        orphan_files,
        missing_files,
        finished_deletions,
    };
    catalog.save_reconcile_report(&report)?;
    Ok(report)
}

/// The ids of every record, those being deleted included.
fn known_ids(
    catalog: &Catalog,
    records: &[BackupSummary],
) -> Result<HashSet<BackupId>, CatalogError> {
    let pending = catalog.pending_deletions()?;
    Ok(records
        .iter()
        .map(|r| r.id.clone())
        .chain(pending.into_iter().map(|p| p.id))
        .collect())
}

/// `.db.gz` files in the type folders whose id is not in `known`. Hidden
/// files are work in progress and never count.
fn orphan_files(
    known: &HashSet<BackupId>,
    backup_root: &Path,
) -> Result<Vec<OrphanFile>, ReconcileError> {
    let mut orphans = Vec::new();
    for backup_type in BackupType::ALL {
        let dir = backup_root.join(backup_type.folder());
        let io_err = |source| ReconcileError::Io {
            path: dir.clone(),
            source,
        };
        let entries = match std::fs::read_dir(&dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            other => other.map_err(io_err)?,
        };
        for entry in entries {
            let entry = entry.map_err(io_err)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let metadata = entry.metadata().map_err(io_err)?;
            if name.starts_with('.') || !name.ends_with(".db.gz") || !metadata.is_file() {
                continue;
            }
            let path = PathBuf::from(backup_type.folder()).join(&name);
            let backup_id = BackupId::from_file_name(&name);
            let described = backup_id
                .as_ref()
                .is_some_and(|id| id.relative_path() == path && known.contains(id));
            if !described {
                orphans.push(OrphanFile {
                    has_manifest: manifest_path(&entry.path()).exists(),
                    path,
                    backup_id,
                    size: metadata.len(),
                });
            }
        }
    }
    orphans.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(orphans)
}

/// What [`reindex`] did.
#[derive(Debug, Default, Serialize)]
pub struct ReindexReport {
    pub restored: Vec<BackupId>,
    /// Orphan files left alone, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Rebuilds the records of orphan backup files from their manifests. A file
/// is taken only if its name is a backup's, in its type's folder, and its
/// manifest names the same id and the file's size.
pub fn reindex(catalog: &Catalog, backup_root: &Path) -> Result<ReindexReport, ReconcileError> {
    let mut report = ReindexReport::default();
    let known = known_ids(catalog, &catalog.backup_summaries()?)?;
    for orphan in orphan_files(&known, backup_root)? {
        let file = backup_root.join(&orphan.path);
        let skip = |why: String| (orphan.path.clone(), why);
        let restored = match (&orphan.backup_id, orphan.has_manifest) {
            (None, _) => Err(skip("the name is not a backup file name".into())),
            (Some(id), _) if id.relative_path() != orphan.path => Err(skip(format!(
                "a {} backup outside its folder",
                id.backup_type()
            ))),
            (Some(_), false) => Err(skip("no manifest beside it".into())),
            (Some(id), true) => match manifest::read(&manifest_path(&file)) {
                Err(e) => Err(skip(e.to_string())),
                Ok(m) if &m.backup_id != id => {
                    Err(skip(format!("the manifest describes {}", m.backup_id)))
                }
                Ok(m) if m.file_size != orphan.size => Err(skip(format!(
                    "the file has {} bytes, its manifest says {}",
                    orphan.size, m.file_size
                ))),
                Ok(m) => {
                    catalog.insert_from_manifest(&m)?;
                    Ok(id.clone())
                }
            },
        };
        match restored {
            Ok(id) => {
                tracing::info!(backup_id = %id, "reindex: rebuilt the record of backup {id}");
                report.restored.push(id);
            }
            Err((path, why)) => {
                tracing::warn!(path = %path.display(), %why, "reindex: left an orphan file alone");
                report.skipped.push((path, why));
            }
        }
    }
    Ok(report)
}
