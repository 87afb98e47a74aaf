//! JSON shapes of the API (SPEC §8), with times in the configured timezone.

use chrono_tz::Tz;
use nexus_shared::catalog::{BackupRecord, CreatedBy, ErrorInfo, Verification};
use nexus_shared::engine::verify::CheckResult;
use serde::Serialize;

/// RFC 3339 with the configured zone's offset, e.g. `2026-01-31T14:30:25+09:00`.
pub use nexus_shared::catalog::format_local as local_time;

#[derive(Serialize)]
pub struct BackupView {
    pub backup_id: String,
    pub backup_type: &'static str,
    pub status: &'static str,
    pub phase: &'static str,
    pub progress_percent: u8,
    pub description: Option<String>,
    pub file_path: String,
    pub file_size: Option<u64>,
    pub original_size: Option<u64>,
    pub checksum: Option<String>,
    pub created_by: CreatedBy,
    pub started_at: String,
    pub completed_at: Option<String>,
    pub error: Option<ErrorInfo>,
    /// The last finished verification; filled by `verifications::attach_last`.
    pub last_verification: Option<VerificationView>,
    /// Where the backup's copies are: `local`, `offsite`, `both` or `none`;
    /// filled by `offsite::attach_copies`. (An addition to SPEC §8.)
    pub location: &'static str,
    pub copies: CopiesView,
}

/// The local file and the offsite copy of a backup.
#[derive(Serialize, Default)]
pub struct CopiesView {
    pub local: LocalCopyView,
    pub offsite: Option<OffsiteView>,
}

#[derive(Serialize, Default)]
pub struct LocalCopyView {
    /// `present`, `missing` (a successful backup whose file is gone) or
    /// `none` (nothing was written: the backup did not succeed).
    pub state: &'static str,
    pub path: String,
}

/// An offsite copy: `state` is `uploading`, `stored`, `failed` or `deleting`.
#[derive(Serialize)]
pub struct OffsiteView {
    pub backup_id: String,
    pub state: &'static str,
    /// `s3://<bucket>/<key>`.
    pub location: String,
    pub object_size: Option<u64>,
    pub object_checksum: Option<String>,
    pub encrypted: bool,
    pub encrypted_to: Option<String>,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub uploaded_at: Option<String>,
    pub checked_at: Option<String>,
    pub check_result: Option<nexus_shared::catalog::OffsiteCheckResult>,
    pub check_detail: Option<String>,
}

impl OffsiteView {
    pub fn new(c: nexus_shared::catalog::OffsiteCopy, bucket: &str, tz: Tz) -> Self {
        OffsiteView {
            backup_id: c.backup_id.to_string(),
            state: c.state.as_str(),
            location: format!("s3://{bucket}/{}", c.object_key),
            object_size: c.object_size,
            object_checksum: c.object_checksum,
            encrypted: c.encrypted_to.is_some(),
            encrypted_to: c.encrypted_to,
            attempts: c.attempts,
            last_error: c.last_error,
            uploaded_at: c.uploaded_at.map(|t| local_time(t, tz)),
            checked_at: c.checked_at.map(|t| local_time(t, tz)),
            check_result: c.check_result,
            check_detail: c.check_detail,
        }
    }
}

impl BackupView {
    pub fn new(r: BackupRecord, backup_root: &std::path::Path, tz: Tz) -> Self {
        let path = backup_root.join(&r.file_path);
        let local = match r.status {
            nexus_shared::domain::BackupStatus::Success if path.is_file() => "present",
            nexus_shared::domain::BackupStatus::Success => "missing",
            _ => "none",
        };
        BackupView {
            location: if local == "present" { "local" } else { "none" },
            copies: CopiesView {
                local: LocalCopyView {
                    state: local,
                    path: path.display().to_string(),
                },
                offsite: None,
            },
            backup_id: r.id.to_string(),
            backup_type: r.id.backup_type().as_str(),
            status: r.status.as_str(),
            phase: r.phase.as_str(),
            progress_percent: r.progress_percent,
            description: r.description,
            file_path: backup_root.join(&r.file_path).display().to_string(),
            file_size: r.file_size,
            original_size: r.original_size,
            checksum: r.checksum,
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
#[derive(Serialize)]
pub struct VerificationView {
    pub check_id: String,
    pub backup_id: String,
    pub status: &'static str,
    pub checks: Vec<CheckResult>,
    pub requested_by: CreatedBy,
    pub started_at: String,
    pub checked_at: Option<String>,
    pub duration_ms: Option<u64>,
}

impl VerificationView {
    pub fn new(v: Verification, tz: Tz) -> Self {
        VerificationView {
            check_id: v.check_id,
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
