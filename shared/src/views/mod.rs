//! The JSON shapes of backups, verifications, audit entries and copies, as
//! the API answers them (SPEC §8) and the CLI's `--json` prints them: one
//! definition, so a script reads both alike. Times are RFC 3339 with the
//! configured zone's offset. With the `openapi` feature each view is also
//! a schema of the API's document.

pub mod audit;
pub mod backup;
pub mod copies;
pub mod verification;

pub use audit::AuditLogView;
pub use backup::BackupView;
pub use copies::{CopiesView, LocalCopyView, OffsiteView};
pub use verification::VerificationView;

/// RFC 3339 with the configured zone's offset, e.g. `2026-01-31T14:30:25+09:00`.
pub use crate::catalog::format_local as local_time;
