//! User roles (SPEC §9): admin does everything, operator creates and verifies
//! backups, viewer reads.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    Admin,
    Operator,
    Viewer,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}: expected admin, operator or viewer")]
pub struct InvalidRole(pub String);

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }

    /// Creating and verifying backups.
    pub fn can_operate(self) -> bool {
        matches!(self, Role::Admin | Role::Operator)
    }

    /// Deleting, restoring, reading the audit trail.
    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = InvalidRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "operator" => Ok(Role::Operator),
            "viewer" => Ok(Role::Viewer),
            other => Err(InvalidRole(other.to_owned())),
        }
    }
}
