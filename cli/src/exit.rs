//! Exit codes, in one place (guide appendix B, then our own).

use nexus_shared::engine::EngineError;
use nexus_shared::engine::restore::RestoreError;

pub const DISK_SPACE: i32 = 1;
pub const DATABASE_MISSING: i32 = 2;
pub const INTEGRITY: i32 = 3;
pub const PERMISSION: i32 = 4;
/// Any other failure of the operation.
pub const FAILURE: i32 = 5;
/// The command line itself is wrong (sysexits EX_USAGE).
pub const USAGE: i32 = 64;

/// Help text listing the exit codes.
pub const EXIT_CODES_HELP: &str = "Exit codes: 0 success, 1 insufficient disk space, 2 database missing, \
3 integrity check failed or live database damaged, 4 permission denied, 5 other failure, 64 usage error.";

#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

impl CliError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        CliError::new(USAGE, message)
    }
}

/// The exit code for a failure recorded with `error_code`.
pub fn code_for(error_code: &str) -> i32 {
    match error_code {
        "insufficient_disk_space" => DISK_SPACE,
        "database_not_found" => DATABASE_MISSING,
        "integrity_check_failed" | "database_corrupt" => INTEGRITY,
        "permission_denied" => PERMISSION,
        _ => FAILURE,
    }
}

/// The exit code for a restore to a path that failed: 3 when the backup
/// fails its checks.
pub fn code_for_restore(e: &RestoreError) -> i32 {
    match e {
        RestoreError::ChecksumMismatch { .. } | RestoreError::BackupCorrupt { .. } => INTEGRITY,
        RestoreError::Engine(e) => code_for(e.code()),
        _ => FAILURE,
    }
}

impl From<EngineError> for CliError {
    fn from(e: EngineError) -> Self {
        CliError::new(code_for(e.code()), format!("Error: {e}"))
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        let code = if e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
        }) {
            PERMISSION
        } else {
            FAILURE
        };
        CliError::new(code, format!("Error: {e:#}"))
    }
}
