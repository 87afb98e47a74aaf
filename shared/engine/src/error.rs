//! What can go wrong in the engine, and how each failure is classed:
//! its code for the API and the catalog, whether a retry may help, and the
//! CLI exit code of the guide's appendix B.

use std::io;
use std::path::PathBuf;

use crate::fsutil::human_size;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("database not found: {path}")]
    DatabaseNotFound { path: PathBuf },
    /// `required` 0: the figures are not known yet (a write ran out of
    /// space); [`super::create_backup`] fills them in.
    #[error(
        "insufficient disk space on the backup filesystem: {} required, {} available",
        human_size(*required),
        human_size(*available)
    )]
    InsufficientDiskSpace { required: u64, available: u64 },
    /// The live database itself cannot be read as SQLite, or its copy
    /// fails `integrity_check`: restore it from a verified backup.
    #[error("the live database {path} is damaged: {detail}")]
    DatabaseCorrupt { path: PathBuf, detail: String },
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
            EngineError::DatabaseCorrupt { .. } => "database_corrupt",
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

    /// The failure's figures for the catalog and the API, as the guide's
    /// error bodies give them.
    pub fn details(&self) -> Option<serde_json::Value> {
        match self {
            EngineError::InsufficientDiskSpace {
                required,
                available,
            } => Some(serde_json::json!({
                "required_bytes": required,
                "available_bytes": available,
                "required_human": human_size(*required),
                "available_human": human_size(*available),
            })),
            EngineError::DatabaseCorrupt { path, .. } => {
                Some(serde_json::json!({ "database_path": path }))
            }
            _ => None,
        }
    }

    /// Whether this failure may be the backup filesystem running out of
    /// room: a write that failed, in SQLite or in a file.
    pub(crate) fn may_be_out_of_space(&self) -> bool {
        use rusqlite::ErrorCode::{CannotOpen, DiskFull, SystemIoFailure};
        match self {
            EngineError::InsufficientDiskSpace { .. } | EngineError::Io { .. } => true,
            EngineError::Sqlite { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(DiskFull | SystemIoFailure | CannotOpen)
            ),
            _ => false,
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
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                EngineError::InsufficientDiskSpace {
                    required: 0,
                    available: crate::fsutil::available_bytes(path.parent().unwrap_or(&path))
                        .unwrap_or(0),
                }
            }
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
