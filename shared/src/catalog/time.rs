//! Timestamps are stored as UTC text with microseconds, which sorts in time
//! order; they are shown in the configured timezone at the edges.

use chrono::{DateTime, SecondsFormat, Utc};

use super::CatalogError;

pub fn format_utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn parse_utc(s: &str) -> Result<DateTime<Utc>, CatalogError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| CatalogError::Corrupt(format!("timestamp {s:?}: {e}")))
}

pub(super) fn now_text() -> String {
    format_utc(Utc::now())
}
