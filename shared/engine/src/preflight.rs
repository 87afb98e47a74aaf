//! Pre-flight (SPEC §3.1): the source exists and the backup filesystem has
//! room. The API runs it synchronously so a client hears "no" at once.

use std::path::{Path, PathBuf};

use super::EngineError;
use crate::fsutil;

mod estimate;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preflight {
    /// The database file plus its WAL: an upper bound of the snapshot.
    pub database_bytes: u64,
    pub available_bytes: u64,
    pub required_bytes: u64,
}

/// What a backup of the database needs on the backup filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A WAL database: its pages stream from a pinned snapshot into the
    /// compressor, so only the compressed file is written. The estimate
    /// of its size comes from a sample of the database.
    Streamed { compressed_estimate: u64 },
    /// A database in another journal mode is copied once, then
    /// compressed: the copy and the compressed file exist side by side.
    Copied,
}

impl Need {
    /// Of a database of `database_bytes` at `source`.
    pub fn of(source: &Path, database_bytes: u64) -> Need {
        match estimate::compressed_bytes(source, database_bytes) {
            Some(compressed_estimate) => Need::Streamed {
                compressed_estimate,
            },
            None => Need::Copied,
        }
    }

    /// The bytes to find free, `reserve_bytes` included.
    pub fn required_bytes(self, database_bytes: u64, reserve_bytes: u64) -> u64 {
        let compressed = match self {
            // The estimate plus a tenth and a MiB for the sample's error.
            Need::Streamed {
                compressed_estimate,
            } => compressed_estimate + compressed_estimate / 10 + (1 << 20),
            // gzip never grows its input by more than a small margin.
            Need::Copied => database_bytes + database_bytes + database_bytes / 1000 + 64 * 1024,
        };
        compressed + reserve_bytes
    }
}

/// The backup's needs as [`check`] counts them.
pub fn required_bytes(source: &Path, database_bytes: u64, reserve_bytes: u64) -> u64 {
    Need::of(source, database_bytes).required_bytes(database_bytes, reserve_bytes)
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
    let required_bytes = required_bytes(source, database_bytes, reserve_bytes);
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
    fn a_wal_database_needs_room_for_its_compressed_size_not_for_a_copy() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("wal.db");
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.pragma_update(None, "journal_mode", "wal").unwrap();
        conn.execute_batch(
            "CREATE TABLE t(x TEXT);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
             INSERT INTO t SELECT 'incident ' || (i % 50) || ' closed by operator' FROM n;",
        )
        .unwrap();
        drop(conn);
        let database_bytes = database_bytes(&db).unwrap();
        let need = Need::of(&db, database_bytes);
        assert!(matches!(need, Need::Streamed { .. }), "{need:?}");
        let required = need.required_bytes(database_bytes, 0);
        assert!(
            required < database_bytes / 2 + (1 << 20) + (1 << 19),
            "{required} of {database_bytes}"
        );
    }

    #[test]
    fn enough_space_passes_and_reports_the_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(&db, vec![0u8; 4096]).unwrap();
        let p = check(&db, &dir.path().join("backups"), 0).unwrap();
        assert_eq!(p.database_bytes, 4096);
        // Not a WAL database: it is copied, then compressed.
        assert!(p.required_bytes >= 2 * 4096);
    }
}
