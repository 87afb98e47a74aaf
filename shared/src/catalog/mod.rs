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
mod pool;
mod restores;
mod schedules;
mod time;
mod users;

use std::path::{Path, PathBuf};

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
    #[error("no catalog connection came free: {0}")]
    Pool(#[from] r2d2::Error),
}

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// A handle on the catalog file; cheap to clone (clones share the
/// connections, see [`pool`]).
#[derive(Debug, Clone)]
pub struct Catalog {
    path: PathBuf,
    pools: pool::Pools,
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
            pools: pool::Pools::open(path)?,
        };
        let mut conn = catalog.writer()?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        migrate::apply(&mut conn)?;
        drop(conn);
        crate::fsutil::restrict_file(path)?;
        Ok(catalog)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A connection for reading.
    fn reader(&self) -> Result<pool::Connection> {
        Ok(self.pools.reader()?)
    }

    /// The connection every write of this process goes through, in turn.
    fn writer(&self) -> Result<pool::Connection> {
        Ok(self.pools.writer()?)
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
