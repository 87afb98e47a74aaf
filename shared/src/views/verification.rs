//! One verification of a backup (SPEC §8).

use chrono_tz::Tz;
use serde::Serialize;

use super::local_time;
use crate::catalog::Verification;
use crate::domain::CheckResult;
use crate::domain::CreatedBy;

/// One verification of a backup: `status` is `in_progress`, `pass` or
/// `fail`; `checks` holds the five results once it has finished.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Verification))]
pub struct VerificationView {
    pub check_id: String,
    pub backup_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::catalog::VerificationStatus))]
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
