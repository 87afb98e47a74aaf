//! Who asked for a backup or a restore.

use serde::Serialize;

/// Who asked for a backup: a user, or the scheduler (no user id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedBy {
    pub id: Option<i64>,
    pub username: String,
}
