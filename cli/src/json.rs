//! The JSON shapes of `--json`: the API's (SPEC §8) field names, so a
//! script can read the CLI's output and the API's alike.

use chrono_tz::Tz;
use nexus_shared::catalog::{BackupRecord, Verification};
use nexus_shared::settings::Settings;
use serde_json::{Value, json};

/// RFC 3339 with the configured zone's offset, e.g. `2026-01-31T14:30:25+09:00`.
pub use nexus_shared::catalog::format_local as local_time;

/// A backup: `{backup_id, backup_type, status, phase, progress_percent,
/// description, file_path, file_size, original_size, checksum, created_by,
/// started_at, completed_at, error}`.
pub fn backup(r: &BackupRecord, settings: &Settings) -> Value {
    let tz = settings.tz();
    json!({
        "backup_id": r.id.to_string(),
        "backup_type": r.id.backup_type(),
        "status": r.status,
        "phase": r.phase,
        "progress_percent": r.progress_percent,
        "description": r.description,
        "file_path": settings.backup_root.join(&r.file_path).display().to_string(),
        "file_size": r.file_size,
        "original_size": r.original_size,
        "checksum": r.checksum,
        "created_by": r.created_by,
        "started_at": local_time(r.started_at, tz),
        "completed_at": r.completed_at.map(|t| local_time(t, tz)),
        "error": r.error,
    })
}

/// A verification: `{check_id, backup_id, status, checks: [{name, status,
/// detail}…], requested_by, started_at, checked_at, duration_ms}`.
pub fn verification(v: &Verification, tz: Tz) -> Value {
    json!({
        "check_id": v.check_id,
        "backup_id": v.backup_id.to_string(),
        "status": v.status,
        "checks": v.checks,
        "requested_by": v.requested_by,
        "started_at": local_time(v.started_at, tz),
        "checked_at": v.checked_at.map(|t| local_time(t, tz)),
        "duration_ms": v.duration_ms,
    })
}

/// Pretty JSON on stdout.
pub fn print(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("a JSON value always serialises")
    );
}
