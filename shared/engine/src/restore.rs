//! Restoring a backup (SPEC §6), as file operations that know nothing of
//! HTTP, the queue or the catalog:
//!
//! - [`decompress_into`] decompresses a backup into a new file while
//!   checking it: SHA-256 of the `.db.gz`, a complete gzip stream, size and
//!   SHA-256 of the database; [`verify_into`] adds `PRAGMA integrity_check`.
//! - [`restore_to_path`] does that into a new file beside `dest` and
//!   publishes it under `dest`; it never overwrites anything (`--to <path>`).
//! - [`apply`] writes a decompressed copy into the live database with
//!   SQLite's online backup API, in one write transaction on the live
//!   database, which commits only once the copy's `integrity_check`, run
//!   beside the writes, has passed:
//!   SQLite rewrites it through its own pager and WAL, so connections that
//!   hold it open see the old content or the new, never a mix, and go on
//!   working (they reload the schema when they notice the change). The file
//!   is never replaced by a rename, which would corrupt open connections.
//! - [`check_live`] runs `PRAGMA integrity_check` on the live database.
//!
//! The whole live restore (lock, verification, safety backup, apply, check
//! and rollback, recorded in the catalog) is orchestrated above the engine,
//! in `nexus_shared::runner::restore`.

mod apply;
mod copy;

pub use apply::{Applied, ApplyFailure, apply};
pub use copy::{decompress_into, verify_into};

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use nexus_domain::Checksum;

use crate::reading::Expected;
use crate::{EngineError, fsutil, snapshot};

/// Beyond the database itself, room for SQLite's side files.
const HEADROOM: u64 = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("the backup file is missing: {}", path.display())]
    BackupMissing { path: PathBuf },
    #[error("the backup file's checksum {actual} differs from the recorded {expected}")]
    ChecksumMismatch {
        expected: Checksum,
        actual: Checksum,
    },
    #[error("the backup is corrupt: {detail}")]
    BackupCorrupt { detail: String },
    #[error("{} already exists: a restore to a path never overwrites", path.display())]
    DestinationExists { path: PathBuf },
    #[error(
        "the backup's page size ({backup} bytes) differs from the live database's ({live} bytes), \
         which SQLite cannot change in WAL mode"
    )]
    PageSizeMismatch { backup: u32, live: u32 },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl RestoreError {
    /// The snake_case code recorded and sent to clients.
    pub fn code(&self) -> &'static str {
        match self {
            RestoreError::BackupMissing { .. } => "backup_missing",
            RestoreError::ChecksumMismatch { .. } => "checksum_mismatch",
            RestoreError::BackupCorrupt { .. } => "backup_corrupt",
            RestoreError::DestinationExists { .. } => "destination_exists",
            RestoreError::PageSizeMismatch { .. } => "page_size_mismatch",
            RestoreError::Engine(e) => e.code(),
        }
    }
}

/// A backup decompressed into a file of its own, whose checksums and size
/// match the record; its `integrity_check` has not run yet. Dropping it
/// removes the file and SQLite's side files.
#[derive(Debug)]
pub struct DecompressedCopy {
    path: PathBuf,
    bytes: u64,
}

impl DecompressedCopy {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size of the database in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for DecompressedCopy {
    fn drop(&mut self) {
        for path in with_side_files(&self.path) {
            if let Err(e) = fsutil::remove_if_exists(&path) {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a restore copy");
            }
        }
    }
}

/// A [`DecompressedCopy`] whose `integrity_check` passed too.
#[derive(Debug)]
pub struct VerifiedCopy(DecompressedCopy);

impl std::ops::Deref for VerifiedCopy {
    type Target = DecompressedCopy;

    fn deref(&self) -> &DecompressedCopy {
        &self.0
    }
}

pub fn with_side_files(path: &Path) -> [PathBuf; 4] {
    ["", "-wal", "-shm", "-journal"].map(|suffix| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    })
}

/// Fails with `InsufficientDiskSpace` unless `dir` has room for `bytes`
/// plus SQLite's side files and `reserve_bytes`.
pub fn ensure_room(dir: &Path, bytes: u64, reserve_bytes: u64) -> Result<(), RestoreError> {
    let required = bytes + HEADROOM + reserve_bytes;
    let available = fsutil::available_bytes(dir)
        .map_err(|e| EngineError::io("cannot read the free disk space", dir, e))?;
    if available < required {
        return Err(EngineError::InsufficientDiskSpace {
            required,
            available,
        }
        .into());
    }
    Ok(())
}
/// A database restored to a path of its own.
#[derive(Debug, Clone)]
pub struct RestoredFile {
    pub path: PathBuf,
    pub bytes: u64,
}

/// Restores `backup` into the new file `dest` (mode 0600) for inspection,
/// never touching the live database: decompresses and verifies it into a
/// temporary file beside `dest`, then publishes it under `dest` durably.
/// Refuses if `dest` exists; on any error nothing is left under `dest`.
pub fn restore_to_path(
    backup: &Path,
    expected: &Expected,
    dest: &Path,
) -> Result<RestoredFile, RestoreError> {
    let exists = |path: &Path| RestoreError::DestinationExists {
        path: path.to_path_buf(),
    };
    if dest.symlink_metadata().is_ok() {
        return Err(exists(dest));
    }
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = dest
        .file_name()
        .map_or_else(|| "restore".into(), |n| n.to_string_lossy().into_owned());
    if let Some(size) = expected.original_size {
        ensure_room(dir, size, 0)?;
    }
    let temp = dir.join(format!(".{name}.{}.restore-tmp", ulid::Ulid::generate()));
    let copy = verify_into(backup, expected, &temp)?;
    File::open(copy.path())
        .and_then(|f| f.sync_all())
        .map_err(|e| EngineError::io("cannot flush the restored file", copy.path(), e))?;
    // A hard link never replaces an existing file, unlike a rename.
    match std::fs::hard_link(copy.path(), dest) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(exists(dest)),
        Err(e) => return Err(EngineError::io("cannot publish the restored file", dest, e).into()),
    }
    let bytes = copy.bytes();
    drop(copy);
    fsutil::sync_dir(dir)
        .map_err(|e| EngineError::io("cannot flush the destination folder", dir, e))?;
    Ok(RestoredFile {
        path: dest.to_path_buf(),
        bytes,
    })
}
/// `PRAGMA integrity_check` on the live database. In WAL mode it is a read
/// transaction: the application goes on writing meanwhile. It reads the
/// file through a memory map ([`snapshot::integrity_check_mapped`] says why
/// the application's SQLite cannot pull it away under the check).
pub fn check_live(live: &Path) -> Result<(), RestoreError> {
    Ok(snapshot::integrity_check_mapped(live)?)
}
#[cfg(test)]
mod tests;
