//! Timestamps are stored as UTC text with microseconds, which sorts in time
//! order; they are shown in the configured timezone at the edges.

use chrono::{DateTime, SecondsFormat, Utc};

use super::CatalogError;

pub fn format_utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// RFC 3339 with the offset of `tz`, to the second, e.g.
/// `2026-01-31T14:30:25+09:00`: how every front end shows a time.
pub fn format_local(t: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

pub fn parse_utc(s: &str) -> Result<DateTime<Utc>, CatalogError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| CatalogError::Corrupt(format!("timestamp {s:?}: {e}")))
}

pub(super) fn now_text() -> String {
    format_utc(Utc::now())
}
