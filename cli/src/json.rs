//! The JSON of `--json`: the views the API answers with
//! (`nexus_shared::views`), so a script reads the CLI's output and the
//! API's alike.

use chrono_tz::Tz;
use nexus_shared::catalog::{BackupRecord, Verification};
use nexus_shared::settings::Settings;
use nexus_shared::views::{BackupView, VerificationView};
use serde::Serialize;
use serde_json::Value;

/// RFC 3339 with the configured zone's offset, e.g. `2026-01-31T14:30:25+09:00`.
pub use nexus_shared::views::local_time;

/// A backup: `{backup_id, backup_type, status, phase, progress_percent,
/// description, file_path, file_size, original_size, checksum, created_by,
/// started_at, completed_at, error}`: the API's shape without
/// `last_verification`, `location` and `copies`, which only `show` adds.
pub fn backup(r: &BackupRecord, settings: &Settings) -> Value {
    let view = BackupView::new(r.clone(), &settings.backup_root, settings.tz());
    let mut value = value(&view);
    if let Some(fields) = value.as_object_mut() {
        for api_only in ["last_verification", "location", "copies"] {
            fields.remove(api_only);
        }
    }
    value
}

/// A verification: `{check_id, backup_id, status, checks: [{name, status,
/// detail}…], requested_by, started_at, checked_at, duration_ms}`.
pub fn verification(v: &Verification, tz: Tz) -> Value {
    value(&VerificationView::new(v.clone(), tz))
}

/// A view as a JSON value (its keys sorted, as `print` writes them).
pub fn value(view: &impl Serialize) -> Value {
    serde_json::to_value(view).expect("a view always serialises")
}

/// Pretty JSON on stdout.
pub fn print(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("a JSON value always serialises")
    );
}
