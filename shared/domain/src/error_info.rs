//! A recorded failure, as the catalog keeps it and clients receive it.

use serde::Serialize;

/// Why a backup or a restore failed: a snake_case `code` and a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
    /// The failure's figures, as the guide's error bodies give them
    /// (`required_bytes`, `available_bytes`, … for a full disk).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}
