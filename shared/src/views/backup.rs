//! A backup (SPEC §8), with its last verification and its copies.

use std::path::Path;

use chrono_tz::Tz;
use serde::Serialize;

use std::collections::HashMap;

use super::copies::{CopiesView, LocalCopyView, OffsiteView};
use super::local_time;
use super::verification::VerificationView;
use crate::catalog::{BackupRecord, Catalog, OffsiteCopy, Result as CatalogResult};
use crate::domain::{BackupId, CreatedBy, ErrorInfo};

/// A backup (SPEC §8). Times are RFC 3339 with the configured zone's offset.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Backup))]
pub struct BackupView {
    #[cfg_attr(feature = "openapi", schema(example = "BKP-20260131-143025-manual"))]
    pub backup_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::domain::BackupType))]
    pub backup_type: &'static str,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::domain::BackupStatus))]
    pub status: &'static str,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::domain::Phase))]
    pub phase: &'static str,
    #[cfg_attr(feature = "openapi", schema(maximum = 100))]
    pub progress_percent: u8,
    pub description: Option<String>,
    /// The backup file (`.db.gz`), absolute.
    pub file_path: String,
    /// Bytes of the compressed file, once written.
    pub file_size: Option<u64>,
    /// Bytes of the database snapshot before compression.
    pub original_size: Option<u64>,
    /// `sha256:<hex>` of the compressed file.
    #[cfg_attr(feature = "openapi", schema(pattern = "^sha256:[0-9a-f]{64}$"))]
    pub checksum: Option<String>,
    pub created_by: CreatedBy,
    pub started_at: String,
    pub completed_at: Option<String>,
    /// Why the backup failed; `null` unless it did.
    pub error: Option<ErrorInfo>,
    /// The last finished verification; filled by `verifications::attach_last`.
    pub last_verification: Option<VerificationView>,
    /// Where the backup's copies are: `local`, `offsite`, `both` or `none`;
    /// filled by `offsite::attach_copies`. (An addition to SPEC §8.)
    #[cfg_attr(feature = "openapi", schema(value_type = super::copies::CopyLocation))]
    pub location: &'static str,
    pub copies: CopiesView,
}

impl BackupView {
    /// The backup with its local copy only and no verification yet.
    pub fn new(r: BackupRecord, backup_root: &Path, tz: Tz) -> Self {
        let copies = CopiesView::local_only(LocalCopyView::of(&r, backup_root));
        BackupView {
            location: copies.location(),
            copies,
            backup_id: r.id.to_string(),
            backup_type: r.id.backup_type().as_str(),
            status: r.status.as_str(),
            phase: r.phase.as_str(),
            progress_percent: r.progress_percent,
            description: r.description,
            file_path: backup_root.join(&r.file_path).display().to_string(),
            file_size: r.file_size,
            original_size: r.original_size,
            checksum: r.checksum.as_ref().map(ToString::to_string),
            created_by: r.created_by,
            started_at: local_time(r.started_at, tz),
            completed_at: r.completed_at.map(|t| local_time(t, tz)),
            error: r.error,
            last_verification: None,
        }
    }

    /// The views of `records` whole: each with its last finished
    /// verification and its offsite copy (in bucket `bucket`), read in
    /// two queries for all of them.
    pub fn complete(
        catalog: &Catalog,
        records: Vec<BackupRecord>,
        backup_root: &Path,
        bucket: &str,
        tz: Tz,
    ) -> CatalogResult<Vec<BackupView>> {
        let ids: Vec<BackupId> = records.iter().map(|r| r.id.clone()).collect();
        let mut last = catalog.last_verifications(&ids)?;
        let mut copies: HashMap<BackupId, OffsiteCopy> = catalog
            .offsite_copies_of(&ids)?
            .into_iter()
            .map(|c| (c.backup_id.clone(), c))
            .collect();
        Ok(records
            .into_iter()
            .map(|r| {
                let (verification, copy) = (last.remove(&r.id), copies.remove(&r.id));
                let mut view = BackupView::new(r, backup_root, tz);
                view.last_verification = verification.map(|v| VerificationView::new(v, tz));
                if let Some(copy) = copy {
                    view.copies.offsite = Some(OffsiteView::new(copy, bucket, tz));
                    view.location = view.copies.location();
                }
                view
            })
            .collect())
    }

    /// Sets the copies, and `location` from them.
    pub fn with_copies(mut self, copies: CopiesView) -> Self {
        self.location = copies.location();
        self.copies = copies;
        self
    }
}
