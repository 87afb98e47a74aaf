//! The path parameters several routes share, as the API document describes
//! them. Handlers still take the raw text (`Path<String>`) and parse it with
//! `BackupId::parse` / `RestoreId::parse`, so that a malformed id gets the
//! `invalid_backup_id` / `invalid_restore_id` error body; the patterns here
//! say what those parsers accept.

use utoipa::IntoParams;

/// `{id}`: a backup.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // a description for the document; handlers parse the text
pub struct BackupIdParam {
    /// The backup id, `BKP-YYYYMMDD-HHMMSS-<type>` (its local start time
    /// and type; `-<N>`, 2 to 9999, for the Nth backup of a type in one
    /// second), e.g. `BKP-20260131-143025-manual`. Anything else is 400
    /// `invalid_backup_id`.
    #[param(
        pattern = "^BKP-[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])-([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]-(daily|weekly|monthly|manual|before_restore)(-([2-9]|[1-9][0-9]{1,3}))?$",
        example = "BKP-20260131-143025-manual"
    )]
    id: String,
}

/// `{restore_id}`: a restore.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // a description for the document; handlers parse the text
pub struct RestoreIdParam {
    /// The restore id, `RST-` and 26 characters, e.g.
    /// `RST-01JJ5Q8X3N0G7Z1VYB4M2K6C9D`; anything else is 400
    /// `invalid_restore_id`.
    #[param(
        pattern = "^RST-[0-7][0-9A-HJKMNP-TV-Z]{25}$",
        example = "RST-01JJ5Q8X3N0G7Z1VYB4M2K6C9D"
    )]
    restore_id: String,
}
