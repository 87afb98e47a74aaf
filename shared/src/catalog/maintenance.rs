//! Keeping the catalog and the backup folder in step (SPEC §6.3, §8.4):
//! reconciliation reports, and records rebuilt from sidecar manifests.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use super::{Catalog, CatalogError, Result, time};
use crate::domain::BackupId;
use crate::engine::manifest::Manifest;

/// How many reconciliation reports are kept.
const REPORTS_KEPT: i64 = 100;

/// What one reconciliation found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileReport {
    pub checked_at: DateTime<Utc>,
    /// Backup files on disk that no record describes.
    pub orphan_files: Vec<OrphanFile>,
    /// Successful backups whose file is gone.
    pub missing_files: Vec<MissingFile>,
    /// Deletions interrupted by a crash, finished by this reconciliation.
    pub finished_deletions: Vec<BackupId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrphanFile {
    /// Relative to the backup root.
    pub path: PathBuf,
    /// The id its name stands for; `None` when the name is not a backup's.
    pub backup_id: Option<BackupId>,
    pub size: u64,
    /// A sidecar manifest is beside it, so `reindex` can rebuild its record.
    pub has_manifest: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingFile {
    pub backup_id: BackupId,
    /// Relative to the backup root.
    pub path: PathBuf,
}

impl Catalog {
    pub fn save_reconcile_report(&self, report: &ReconcileReport) -> Result<()> {
        let json = serde_json::to_string(report).expect("a report always serialises");
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO reconcile_reports (checked_at, report, created_at) VALUES (?1, ?2, ?3)",
            params![time::format_utc(report.checked_at), json, time::now_text()],
        )?;
        tx.execute(
            "DELETE FROM reconcile_reports WHERE id <= (SELECT MAX(id) FROM reconcile_reports) - ?1",
            [REPORTS_KEPT],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The newest reconciliation report, if there was one.
    pub fn last_reconcile_report(&self) -> Result<Option<ReconcileReport>> {
        let conn = self.reader()?;
        let json: Option<String> = conn
            .query_row(
                "SELECT report FROM reconcile_reports ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        json.map(|j| {
            serde_json::from_str(&j)
                .map_err(|e| CatalogError::Corrupt(format!("reconcile report: {e}")))
        })
        .transpose()
    }

    /// Rebuilds the record of a successful backup from its manifest.
    /// Returns false when the id already has a record. The creator's user
    /// id is kept only if that user exists in this catalog.
    pub fn insert_from_manifest(&self, manifest: &Manifest) -> Result<bool> {
        let conn = self.writer()?;
        let id = &manifest.backup_id;
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO backups (backup_id, backup_type, status, phase,
                 progress_percent, description, file_path, file_size, original_size, checksum,
                 raw_checksum, created_by_id, created_by_name, started_at, completed_at,
                 created_at)
             VALUES (?1, ?2, 'success', 'done', 100, ?3, ?4, ?5, ?6, ?7, ?8,
                 (SELECT id FROM users WHERE id = ?9), ?10, ?11, ?12, ?13)",
            params![
                id.to_string(),
                id.backup_type().as_str(),
                manifest.description,
                id.relative_path().to_string_lossy(),
                manifest.file_size as i64,
                manifest.original_size as i64,
                manifest.checksum.as_str(),
                manifest.raw_checksum.as_str(),
                manifest.created_by.id,
                manifest.created_by.username,
                time::format_utc(manifest.started_at),
                time::format_utc(manifest.completed_at),
                time::now_text(),
            ],
        )?;
        Ok(inserted == 1)
    }
}
