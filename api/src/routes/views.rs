//! JSON shapes of the API (SPEC §8), with times in the configured timezone.

use chrono_tz::Tz;
use nexus_shared::catalog::{BackupRecord, Verification, VerificationStatus};
use nexus_shared::domain::CheckResult;
use nexus_shared::domain::{BackupStatus, BackupType, Phase};
use nexus_shared::domain::{CreatedBy, ErrorInfo};
use nexus_shared::offsite::view::{CopiesView, CopyLocation, LocalCopyView};
use serde::Serialize;
use utoipa::ToSchema;

/// RFC 3339 with the configured zone's offset, e.g. `2026-01-31T14:30:25+09:00`.
pub use nexus_shared::catalog::format_local as local_time;

/// A backup (SPEC §8). Times are RFC 3339 with the configured zone's offset.
#[derive(Serialize, ToSchema)]
#[schema(as = Backup)]
pub struct BackupView {
    #[schema(example = "BKP-20260131-143025-manual")]
    pub backup_id: String,
    #[schema(value_type = BackupType)]
    pub backup_type: &'static str,
    #[schema(value_type = BackupStatus)]
    pub status: &'static str,
    #[schema(value_type = Phase)]
    pub phase: &'static str,
    #[schema(maximum = 100)]
    pub progress_percent: u8,
    pub description: Option<String>,
    /// The backup file (`.db.gz`), absolute.
    pub file_path: String,
    /// Bytes of the compressed file, once written.
    pub file_size: Option<u64>,
    /// Bytes of the database snapshot before compression.
    pub original_size: Option<u64>,
    /// `sha256:<hex>` of the compressed file.
    #[schema(pattern = "^sha256:[0-9a-f]{64}$")]
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
    #[schema(value_type = CopyLocation)]
    pub location: &'static str,
    pub copies: CopiesView,
}

impl BackupView {
    pub fn new(r: BackupRecord, backup_root: &std::path::Path, tz: Tz) -> Self {
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
}

/// One verification of a backup: `status` is `in_progress`, `pass` or
/// `fail`; `checks` holds the five results once it has finished.
#[derive(Serialize, ToSchema)]
#[schema(as = Verification)]
pub struct VerificationView {
    pub check_id: String,
    pub backup_id: String,
    #[schema(value_type = VerificationStatus)]
    pub status: &'static str,
    /// `file_exists`, `file_size`, `checksum`, `decompress`,
    /// `sqlite_integrity`, in that order; empty while in progress.
    pub checks: Vec<CheckResult>,
    pub requested_by: CreatedBy,
    pub started_at: String,
    pub checked_at: Option<String>,
    pub duration_ms: Option<u64>,
}

impl VerificationView {
    pub fn new(v: Verification, tz: Tz) -> Self {
        VerificationView {
            check_id: v.check_id.to_string(),
            backup_id: v.backup_id.to_string(),
            status: v.status.as_str(),
            checks: v.checks,
            requested_by: v.requested_by,
            started_at: local_time(v.started_at, tz),
            checked_at: v.checked_at.map(|t| local_time(t, tz)),
            duration_ms: v.duration_ms,
        }
    }
}
