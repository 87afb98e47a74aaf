//! Where a backup's copies are (an addition to SPEC §8): `location` and
//! `copies` on every backup, and the offsite copies `GET /api/v1/offsite` lists.

use std::path::Path;

use chrono_tz::Tz;
use serde::Serialize;

use crate::catalog::{BackupRecord, OffsiteCheckResult, OffsiteCopy, OffsiteState, format_local};
use crate::domain::BackupStatus;

/// The local file and the offsite copy of a backup.
#[derive(Serialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CopiesView {
    pub local: LocalCopyView,
    pub offsite: Option<OffsiteView>,
}

#[derive(Serialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocalCopyView {
    /// `present`, `missing` (a successful backup whose file is gone) or
    /// `none` (nothing was written: the backup did not succeed).
    #[cfg_attr(feature = "openapi", schema(value_type = LocalCopyState))]
    pub state: &'static str,
    pub path: String,
}

/// An offsite copy: `state` is `uploading`, `stored`, `failed` or `deleting`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OffsiteView {
    pub backup_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = OffsiteState))]
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
    pub check_result: Option<OffsiteCheckResult>,
    pub check_detail: Option<String>,
}

impl OffsiteView {
    pub fn new(c: OffsiteCopy, bucket: &str, tz: Tz) -> Self {
        OffsiteView {
            backup_id: c.backup_id.to_string(),
            state: c.state.as_str(),
            location: format!("s3://{bucket}/{}", c.object_key),
            object_size: c.object_size,
            object_checksum: c.object_checksum.as_ref().map(ToString::to_string),
            encrypted: c.encrypted_to.is_some(),
            encrypted_to: c.encrypted_to,
            attempts: c.attempts,
            last_error: c.last_error,
            uploaded_at: c.uploaded_at.map(|t| format_local(t, tz)),
            checked_at: c.checked_at.map(|t| format_local(t, tz)),
            check_result: c.check_result,
            check_detail: c.check_detail,
        }
    }
}

/// The values of [`LocalCopyView::state`], for the API's document.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum LocalCopyState {
    Present,
    Missing,
    None,
}

/// The values of [`CopiesView::location`], for the API's document.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum CopyLocation {
    Local,
    Offsite,
    Both,
    None,
}

impl LocalCopyView {
    /// The local file of `r`: looked at on disk, so a file removed by hand
    /// shows as `missing`.
    pub fn of(r: &BackupRecord, backup_root: &Path) -> Self {
        let path = backup_root.join(&r.file_path);
        let state = match r.status {
            BackupStatus::Success if path.is_file() => "present",
            BackupStatus::Success => "missing",
            _ => "none",
        };
        LocalCopyView {
            state,
            path: path.display().to_string(),
        }
    }
}

impl CopiesView {
    pub fn local_only(local: LocalCopyView) -> Self {
        CopiesView {
            local,
            offsite: None,
        }
    }

    /// `local`, `offsite`, `both` or `none`: where a good copy is.
    pub fn location(&self) -> &'static str {
        let local = self.local.state == "present";
        let offsite = self
            .offsite
            .as_ref()
            .is_some_and(|o| o.state == OffsiteState::Stored.as_str());
        match (local, offsite) {
            (true, true) => "both",
            (true, false) => "local",
            (false, true) => "offsite",
            (false, false) => "none",
        }
    }
}
