//! The body of every error answer (SPEC §8, the guide's §4.3), as a type:
//! the API document's `ErrorBody` schema is derived from what is sent.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// `{error, message, user_action, details}`: the answer to every request
/// that fails, whatever the status.
#[derive(Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "error": "backup_not_found",
    "message": "指定されたバックアップが見つかりません。",
    "user_action": "バックアップ ID を確認してください。",
    "details": { "backup_id": "BKP-20260131-143025-manual" }
}))]
pub struct ErrorBody {
    /// A snake_case code for scripts to match on, e.g. `backup_not_found`,
    /// `forbidden`, `invalid_parameter`, `latest_backup_protected`.
    pub error: &'static str,
    /// What went wrong: in Japanese, or in English when the request's
    /// `Accept-Language` starts with `en`.
    pub message: &'static str,
    /// What the person can do about it, in the same language.
    pub user_action: &'static str,
    /// Facts about this error, by code: e.g. `backup_id`, `required_role`,
    /// `parameter` and `reason`, `required_bytes` and `available_bytes`;
    /// `{}` when there are none.
    #[schema(value_type = Object)]
    pub details: Value,
}
