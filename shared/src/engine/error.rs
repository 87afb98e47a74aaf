//! What can go wrong in the engine, and how each failure is classed:
//! its code for the API and the catalog, whether a retry may help, and the
//! CLI exit code of the guide's appendix B.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("database not found: {path}")]
    DatabaseNotFound { path: PathBuf },
    #[error("insufficient disk space: {required} bytes required, {available} available")]
    InsufficientDiskSpace { required: u64, available: u64 },
    #[error("integrity check failed: {detail}")]
    IntegrityCheckFailed { detail: String },
    #[error("permission denied: {path}: {source}")]
    PermissionDenied { path: PathBuf, source: io::Error },
    #[error("the database is busy: {0}")]
    Busy(String),
    #[error("{context}: {source}")]
    Sqlite {
        context: &'static str,
        source: rusqlite::Error,
    },
    #[error("{context}: {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// The caller asked to stop (for instance its lease was taken over).
    #[error("stopped: {0}")]
    Aborted(String),
}

impl EngineError {
    /// The snake_case code stored in the catalog and sent to clients.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::DatabaseNotFound { .. } => "database_not_found",
            EngineError::InsufficientDiskSpace { .. } => "insufficient_disk_space",
            EngineError::IntegrityCheckFailed { .. } => "integrity_check_failed",
            EngineError::PermissionDenied { .. } => "permission_denied",
            EngineError::Busy(_) => "database_busy",
            EngineError::Sqlite { .. } => "database_error",
            EngineError::Io { .. } => "io_error",
            EngineError::InvalidOptions(_) => "invalid_options",
            EngineError::Aborted(_) => "aborted",
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            EngineError::Busy(_) => true,
            EngineError::Io { source, .. } => !matches!(
                source.kind(),
                io::ErrorKind::NotFound
                    | io::ErrorKind::PermissionDenied
                    | io::ErrorKind::StorageFull
                    | io::ErrorKind::ReadOnlyFilesystem
                    | io::ErrorKind::InvalidInput
            ),
            _ => false,
        }
    }

    /// Exit codes of the guide's appendix B; 5 for anything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            EngineError::InsufficientDiskSpace { .. } => 1,
            EngineError::DatabaseNotFound { .. } => 2,
            EngineError::IntegrityCheckFailed { .. } => 3,
            EngineError::PermissionDenied { .. } => 4,
            _ => 5,
        }
    }

    /// Wraps an I/O error, classing "no permission" and "disk full" apart.
    pub fn io(context: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        match source.kind() {
            // Writing to a read-only mount is, to an operator, "not allowed here".
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
                EngineError::PermissionDenied { path, source }
            }
            io::ErrorKind::StorageFull => EngineError::InsufficientDiskSpace {
                required: 0,
                available: crate::fsutil::available_bytes(path.parent().unwrap_or(&path))
                    .unwrap_or(0),
            },
            _ => EngineError::Io {
                context,
                path,
                source,
            },
        }
    }

    /// Wraps a SQLite error, classing busy/locked as transient.
    pub fn sqlite(context: &'static str, source: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
        match source.sqlite_error_code() {
            Some(DatabaseBusy | DatabaseLocked) => EngineError::Busy(source.to_string()),
            Some(rusqlite::ErrorCode::DiskFull) => EngineError::InsufficientDiskSpace {
                required: 0,
                available: 0,
            },
            _ => EngineError::Sqlite { context, source },
        }
    }
}
