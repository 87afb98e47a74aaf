//! The five kinds of backup (SPEC §2) and the folder each one lives in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum BackupType {
    Daily,
    Weekly,
    Monthly,
    Manual,
    BeforeRestore,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown backup type {0:?}: expected daily, weekly, monthly, manual or before_restore")]
pub struct InvalidBackupType(pub String);

impl BackupType {
    pub const ALL: [BackupType; 5] = [
        BackupType::Daily,
        BackupType::Weekly,
        BackupType::Monthly,
        BackupType::Manual,
        BackupType::BeforeRestore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BackupType::Daily => "daily",
            BackupType::Weekly => "weekly",
            BackupType::Monthly => "monthly",
            BackupType::Manual => "manual",
            BackupType::BeforeRestore => "before_restore",
        }
    }

    /// The folder under the backup root; the same word as the type.
    pub fn folder(self) -> &'static str {
        self.as_str()
    }

    /// Whether a person may ask for this type directly. `before_restore`
    /// backups are only ever taken by a restore.
    pub fn is_requestable(self) -> bool {
        self != BackupType::BeforeRestore
    }
}

impl fmt::Display for BackupType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BackupType {
    type Err = InvalidBackupType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BackupType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| InvalidBackupType(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_name() {
        for t in BackupType::ALL {
            assert_eq!(t.as_str().parse::<BackupType>().unwrap(), t);
        }
    }

    #[test]
    fn names_are_case_sensitive_and_exact() {
        assert!("Manual".parse::<BackupType>().is_err());
        assert!("manual ".parse::<BackupType>().is_err());
        assert!("../manual".parse::<BackupType>().is_err());
    }
}
