//! The five checks of a verification (SPEC §4) and their results, as the
//! engine makes them, the catalog keeps them and clients receive them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The five checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CheckName {
    FileExists,
    FileSize,
    Checksum,
    Decompress,
    SqliteIntegrity,
}

impl CheckName {
    pub const ALL: [CheckName; 5] = [
        CheckName::FileExists,
        CheckName::FileSize,
        CheckName::Checksum,
        CheckName::Decompress,
        CheckName::SqliteIntegrity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::FileExists => "file_exists",
            CheckName::FileSize => "file_size",
            CheckName::Checksum => "checksum",
            CheckName::Decompress => "decompress",
            CheckName::SqliteIntegrity => "sqlite_integrity",
        }
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one check. `Skipped` means it could not run because an
/// earlier check failed (no file to read, nothing decompressed to check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CheckStatus {
    Pass,
    Fail,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckResult {
    pub name: CheckName,
    pub status: CheckStatus,
    pub detail: String,
}

impl CheckResult {
    pub fn pass(name: CheckName, detail: impl Into<String>) -> Self {
        CheckResult {
            name,
            status: CheckStatus::Pass,
            detail: detail.into(),
        }
    }

    pub fn fail(name: CheckName, detail: impl Into<String>) -> Self {
        CheckResult {
            name,
            status: CheckStatus::Fail,
            detail: detail.into(),
        }
    }

    pub fn skipped(name: CheckName, why: &str) -> Self {
        CheckResult {
            name,
            status: CheckStatus::Skipped,
            detail: format!("not run: {why}"),
        }
    }
}

/// Names of the checks that failed among `checks`.
pub fn failed_names(checks: &[CheckResult]) -> Vec<CheckName> {
    checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .map(|c| c.name)
        .collect()
}
