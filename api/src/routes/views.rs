//! JSON shapes of the API (SPEC §8), with times in the configured timezone.

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use nexus_shared::catalog::{BackupRecord, CreatedBy, ErrorInfo};
use serde::Serialize;

/// RFC 3339 with the configured zone's offset, e.g. `2026-01-31T14:30:25+09:00`.
pub fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

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
    pub last_verification: Option<serde_json::Value>,
}

impl BackupView {
    pub fn new(r: BackupRecord, backup_root: &std::path::Path, tz: Tz) -> Self {
        BackupView {
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
