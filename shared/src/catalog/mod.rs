//! The catalog store: every SQL statement about users, backup records and
//! the audit trail lives below this module, behind typed methods.
//!
//! The catalog is the service's own SQLite file (`<data_dir>/catalog.db`).
//! Methods are synchronous; async callers run them on a blocking thread.

mod audit;
mod backups;
mod checks;
mod deletion;
mod disk;
mod figures;
mod leases;
mod maintenance;
mod migrate;
mod offsite;
mod restores;
mod schedules;
mod time;
mod users;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub use audit::{AuditEntry, AuditFilter, AuditRecord, AuditResult, AuditSource, ChainReport};
pub use backups::{BackupFilter, BackupRecord, Completed, NewBackup};
pub use checks::{Begun, Verification, VerificationStatus};
pub use deletion::PendingDeletion;
pub use disk::TypeUsage;
pub use figures::{DURATION_BUCKETS, Durations, Figures, NewestSuccess, VerificationCounts};
pub use leases::{Claim, LIVE_DATABASE, LockOutcome};
pub use maintenance::{MissingFile, OrphanFile, ReconcileReport};
pub use offsite::{CheckResult as OffsiteCheckResult, OffsiteCopy, OffsiteState, StoredObject};
pub use restores::{NewRestore, RestorePhase, RestoreRecord};
pub use schedules::{ScheduleRun, SlotBackup};
pub use time::{format_local, format_utc, parse_utc};
pub use users::User;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("catalog database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("catalog file error: {0}")]
    Io(#[from] std::io::Error),
    #[error("catalog holds a value it cannot read: {0}")]
    Corrupt(String),
}

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// A handle on the catalog file; cheap to clone, opens a connection per call.
#[derive(Debug, Clone)]
pub struct Catalog {
    path: PathBuf,
}

impl Catalog {
    /// Opens (creating if needed) the catalog at `path` and applies any
    /// pending migrations.
    pub fn open(path: &Path) -> Result<Catalog> {
        if let Some(dir) = path.parent() {
            crate::fsutil::create_private_dir(dir)?;
        }
        let catalog = Catalog {
            path: path.to_path_buf(),
        };
        let mut conn = catalog.connect()?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        migrate::apply(&mut conn)?;
        crate::fsutil::restrict_file(path)?;
        Ok(catalog)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn connect(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(15))?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(conn)
    }
}

/// A value read back from the catalog that does not parse.
fn corrupt(what: &str, e: impl std::fmt::Display) -> CatalogError {
    CatalogError::Corrupt(format!("{what}: {e}"))
}

/// Maps "no row" to `NotFound`, keeping every other driver error.
trait OptionalRow<T> {
    fn found(self) -> Result<T>;
}

impl<T> OptionalRow<T> for rusqlite::Result<T> {
    fn found(self) -> Result<T> {
        match self {
            Err(rusqlite::Error::QueryReturnedNoRows) => Err(CatalogError::NotFound),
            other => Ok(other?),
        }
    }
}
