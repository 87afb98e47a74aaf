//! How full the backup filesystem is (guide §7.3), in four levels.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Ordered: `Ok < Warn < Error < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DiskLevel {
    Ok,
    Warn,
    Error,
    Critical,
}

impl DiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            DiskLevel::Ok => "ok",
            DiskLevel::Warn => "warn",
            DiskLevel::Error => "error",
            DiskLevel::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<DiskLevel> {
        [
            DiskLevel::Ok,
            DiskLevel::Warn,
            DiskLevel::Error,
            DiskLevel::Critical,
        ]
        .into_iter()
        .find(|l| l.as_str() == s)
    }
}

/// What the last check left behind (kept in the catalog across restarts).
#[derive(Debug, Clone, PartialEq)]
pub struct DiskState {
    pub level: DiskLevel,
    pub automatic_paused: bool,
    pub last_notified_at: Option<DateTime<Utc>>,
}

impl Default for DiskState {
    fn default() -> Self {
        DiskState {
            level: DiskLevel::Ok,
            automatic_paused: false,
            last_notified_at: None,
        }
    }
}
