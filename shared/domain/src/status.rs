//! Where a backup is in its life: its status and, while it runs, its phase.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum BackupStatus {
    InProgress,
    Success,
    Failure,
}

impl BackupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupStatus::InProgress => "in_progress",
            BackupStatus::Success => "success",
            BackupStatus::Failure => "failure",
        }
    }

    pub fn is_terminal(self) -> bool {
        self != BackupStatus::InProgress
    }
}

impl fmt::Display for BackupStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BackupStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "in_progress" => Ok(BackupStatus::InProgress),
            "success" => Ok(BackupStatus::Success),
            "failure" => Ok(BackupStatus::Failure),
            other => Err(format!(
                "unknown status {other:?}: expected in_progress, success or failure"
            )),
        }
    }
}

/// The steps of a backup job (SPEC §3), in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Phase {
    Queued,
    Preflight,
    Snapshot,
    IntegrityCheck,
    Compress,
    Finalize,
    Done,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Preflight => "preflight",
            Phase::Snapshot => "snapshot",
            Phase::IntegrityCheck => "integrity_check",
            Phase::Compress => "compress",
            Phase::Finalize => "finalize",
            Phase::Done => "done",
        }
    }

    /// The share of the overall progress bar at which this phase starts and
    /// ends; a phase's own progress is mapped into that span.
    pub fn span(self) -> (u8, u8) {
        match self {
            Phase::Queued => (0, 0),
            Phase::Preflight => (0, 2),
            Phase::Snapshot => (2, 40),
            Phase::IntegrityCheck => (40, 55),
            Phase::Compress => (55, 97),
            Phase::Finalize => (97, 99),
            Phase::Done => (100, 100),
        }
    }

    /// Overall percent for `fraction` (0.0–1.0) of the way through this phase.
    pub fn overall_percent(self, fraction: f64) -> u8 {
        let (start, end) = self.span();
        let f = fraction.clamp(0.0, 1.0);
        start + ((end - start) as f64 * f).floor() as u8
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Phase {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Phase::Queued,
            Phase::Preflight,
            Phase::Snapshot,
            Phase::IntegrityCheck,
            Phase::Compress,
            Phase::Finalize,
            Phase::Done,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
        .ok_or_else(|| format!("unknown phase {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_never_goes_backwards_across_phases() {
        let phases = [
            Phase::Preflight,
            Phase::Snapshot,
            Phase::IntegrityCheck,
            Phase::Compress,
            Phase::Finalize,
            Phase::Done,
        ];
        for pair in phases.windows(2) {
            assert!(pair[0].overall_percent(1.0) <= pair[1].overall_percent(0.0));
        }
        assert_eq!(Phase::Done.overall_percent(0.0), 100);
    }
}
