//! Pre-flight (SPEC §3.1): the source exists and the backup filesystem has
//! room. The API runs it synchronously so a client hears "no" at once.

use std::path::{Path, PathBuf};

use super::EngineError;
use crate::fsutil;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preflight {
    /// The database file plus its WAL: an upper bound of the snapshot.
    pub database_bytes: u64,
    pub available_bytes: u64,
    pub required_bytes: u64,
}

/// The snapshot and the compressed file exist side by side for a moment;
/// gzip never grows its input by more than a small margin.
pub fn required_bytes(database_bytes: u64, reserve_bytes: u64) -> u64 {
    let compressed_worst_case = database_bytes + database_bytes / 1000 + 64 * 1024;
    database_bytes + compressed_worst_case + reserve_bytes
}

pub fn check(
    source: &Path,
    backup_root: &Path,
    reserve_bytes: u64,
) -> Result<Preflight, EngineError> {
    let database_bytes = database_bytes(source)?;
    fsutil::create_private_dir(backup_root)
        .map_err(|e| EngineError::io("cannot create the backup folder", backup_root, e))?;
    let available_bytes = fsutil::available_bytes(backup_root)
        .map_err(|e| EngineError::io("cannot read free space", backup_root, e))?;
    let required_bytes = required_bytes(database_bytes, reserve_bytes);
    if available_bytes < required_bytes {
        return Err(EngineError::InsufficientDiskSpace {
            required: required_bytes,
            available: available_bytes,
        });
    }
    Ok(Preflight {
        database_bytes,
        available_bytes,
        required_bytes,
    })
}

/// Size of the database and its WAL; `DatabaseNotFound` when it is missing.
pub fn database_bytes(source: &Path) -> Result<u64, EngineError> {
    let meta = match std::fs::metadata(source) {
        Ok(meta) if meta.is_file() => meta,
        Ok(_) => {
            return Err(EngineError::DatabaseNotFound {
                path: source.to_path_buf(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(EngineError::DatabaseNotFound {
                path: source.to_path_buf(),
            });
        }
        Err(e) => return Err(EngineError::io("cannot read the database", source, e)),
    };
    let mut wal = PathBuf::from(source.as_os_str().to_owned());
    wal.as_mut_os_string().push("-wal");
    let wal_bytes = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    Ok(meta.len() + wal_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_database_is_reported_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let err = check(&dir.path().join("nope.db"), dir.path(), 0).unwrap_err();
        assert_eq!(err.code(), "database_not_found");
    }

    #[test]
    fn too_little_space_is_refused_with_both_figures() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(&db, vec![0u8; 4096]).unwrap();
        let err = check(&db, &dir.path().join("backups"), u64::MAX / 4).unwrap_err();
        match err {
            EngineError::InsufficientDiskSpace {
                required,
                available,
            } => assert!(required > available),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn enough_space_passes_and_reports_the_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(&db, vec![0u8; 4096]).unwrap();
        let p = check(&db, &dir.path().join("backups"), 0).unwrap();
        assert_eq!(p.database_bytes, 4096);
        assert!(p.required_bytes >= 2 * 4096);
    }
}
