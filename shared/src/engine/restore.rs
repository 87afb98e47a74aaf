//! Restoring a backup (SPEC §6), as file operations that know nothing of
//! HTTP, the queue or the catalog:
//!
//! - [`verify_into`] decompresses a backup into a new file while checking
//!   it: SHA-256 of the `.db.gz`, a complete gzip stream, SHA-256 of the
//!   database, `PRAGMA integrity_check`.
//! - [`restore_to_path`] does that into a new file beside `dest` and
//!   publishes it under `dest`; it never overwrites anything (`--to <path>`).
//! - [`apply`] writes a verified copy into the live database with SQLite's
//!   online backup API, in one write transaction on the live database:
//!   SQLite rewrites it through its own pager and WAL, so connections that
//!   hold it open see the old content or the new, never a mix, and go on
//!   working (they reload the schema when they notice the change). The file
//!   is never replaced by a rename, which would corrupt open connections.
//! - [`check_live`] runs `PRAGMA integrity_check` on the live database.
//!
//! [`live`] runs a whole live restore: lock, verification, safety backup,
//! apply, check and rollback, recorded in the catalog.

pub mod live;

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flate2::bufread::MultiGzDecoder;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

use super::compress::checksum_text;
use super::{EngineError, snapshot};
use crate::fsutil;

/// Read and decompression buffer size.
const CHUNK: usize = 1 << 20;
/// Beyond the database itself, room for SQLite's side files.
const HEADROOM: u64 = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("the backup file is missing: {}", path.display())]
    BackupMissing { path: PathBuf },
    #[error("the backup file's checksum {actual} differs from the recorded {expected}")]
    ChecksumMismatch { expected: String, actual: String },
    #[error("the backup is corrupt: {detail}")]
    BackupCorrupt { detail: String },
    #[error("{} already exists: a restore to a path never overwrites", path.display())]
    DestinationExists { path: PathBuf },
    #[error(
        "the backup's page size ({backup} bytes) differs from the live database's ({live} bytes), \
         which SQLite cannot change in WAL mode"
    )]
    PageSizeMismatch { backup: u32, live: u32 },
    /// Only from the test hook of [`live`].
    #[error("failure injected by NEXUS_TEST_FAIL_RESTORE_AFTER={0} (test hook)")]
    Injected(String),
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
            RestoreError::Injected(_) => "injected_failure",
            RestoreError::Engine(e) => e.code(),
        }
    }

    /// CLI exit code (appendix B): 3 for a backup that fails its checks.
    pub fn exit_code(&self) -> i32 {
        match self {
            RestoreError::ChecksumMismatch { .. } | RestoreError::BackupCorrupt { .. } => 3,
            RestoreError::Engine(e) => e.exit_code(),
            _ => 5,
        }
    }
}

/// What the catalog says a backup file holds.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// `sha256:<hex>` of the `.db.gz`.
    pub checksum: &'a str,
    /// `sha256:<hex>` of the database, when recorded.
    pub raw_checksum: Option<&'a str>,
    /// Size of the database, when recorded.
    pub original_size: Option<u64>,
}

/// A decompressed, verified copy of a backup. Dropping it removes the file
/// and SQLite's side files.
#[derive(Debug)]
pub struct VerifiedCopy {
    path: PathBuf,
    bytes: u64,
}

impl VerifiedCopy {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size of the database in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for VerifiedCopy {
    fn drop(&mut self) {
        for path in with_side_files(&self.path) {
            if let Err(e) = fsutil::remove_if_exists(&path) {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a restore copy");
            }
        }
    }
}

fn with_side_files(path: &Path) -> [PathBuf; 4] {
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

/// Decompresses `backup` into the new file `copy` (mode 0600) and checks
/// it against `expected`. On any error `copy` is removed.
pub fn verify_into(
    backup: &Path,
    expected: &Expected<'_>,
    copy: &Path,
) -> Result<VerifiedCopy, RestoreError> {
    let input = File::open(backup).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => RestoreError::BackupMissing {
            path: backup.to_path_buf(),
        },
        _ => EngineError::io("cannot open the backup file", backup, e).into(),
    })?;
    let output = fsutil::create_private_file(copy)
        .map_err(|e| EngineError::io("cannot create the restore copy", copy, e))?;
    let mut verified = VerifiedCopy {
        path: copy.to_path_buf(),
        bytes: 0,
    };
    let pass = decompress(input, output);
    if let Some(e) = pass.read_error {
        return Err(EngineError::io("cannot read the backup file", backup, e).into());
    }
    if let Some(e) = pass.write_error {
        return Err(EngineError::io("cannot write the restore copy", copy, e).into());
    }
    if !pass.checksum.eq_ignore_ascii_case(expected.checksum) {
        return Err(RestoreError::ChecksumMismatch {
            expected: expected.checksum.to_owned(),
            actual: pass.checksum,
        });
    }
    let corrupt = |detail: String| RestoreError::BackupCorrupt { detail };
    if let Some(e) = pass.gzip_error {
        return Err(corrupt(format!(
            "the gzip stream is corrupt after {} bytes of output: {e}",
            pass.raw_bytes
        )));
    }
    if let Some(size) = expected.original_size
        && size != pass.raw_bytes
    {
        return Err(corrupt(format!(
            "it decompresses to {} bytes; the record says {size}",
            pass.raw_bytes
        )));
    }
    if let Some(sum) = expected.raw_checksum
        && !sum.eq_ignore_ascii_case(&pass.raw_checksum)
    {
        return Err(corrupt(format!(
            "the decompressed database is {}; the record says {sum}",
            pass.raw_checksum
        )));
    }
    verified.bytes = pass.raw_bytes;
    match snapshot::integrity_check(copy) {
        Ok(()) => Ok(verified),
        Err(EngineError::IntegrityCheckFailed { detail }) => {
            Err(corrupt(format!("PRAGMA integrity_check: {detail}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// What one pass over a backup file found.
struct Pass {
    read_error: Option<io::Error>,
    write_error: Option<io::Error>,
    gzip_error: Option<io::Error>,
    checksum: String,
    raw_bytes: u64,
    raw_checksum: String,
}

/// Reads `input` once: hashes every byte of it, decompresses it into
/// `output` and hashes the output. After a gzip error the rest of the input
/// is still read, so the checksum always covers the whole file.
fn decompress(input: File, mut output: File) -> Pass {
    let mut source = HashingReader {
        inner: input,
        hasher: Sha256::new(),
        error: None,
    };
    let mut raw = Sha256::new();
    let (mut raw_bytes, mut gzip_error, mut write_error) = (0u64, None, None);
    let mut buf = vec![0u8; CHUNK];
    let mut decoder = MultiGzDecoder::new(BufReader::with_capacity(CHUNK, &mut source));
    loop {
        match decoder.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                raw.update(&buf[..n]);
                raw_bytes += n as u64;
                if let Err(e) = output.write_all(&buf[..n]) {
                    write_error = Some(e);
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                gzip_error = Some(e);
                break;
            }
        }
    }
    let _ = io::copy(&mut decoder.into_inner(), &mut io::sink());
    if write_error.is_none() {
        write_error = output.flush().err();
    }
    Pass {
        read_error: source.error.take(),
        write_error,
        gzip_error,
        checksum: checksum_text(source.hasher.finalize()),
        raw_bytes,
        raw_checksum: checksum_text(raw.finalize()),
    }
}

/// Hashes what is read through it; keeps the first read error so that a
/// failing disk is told apart from a corrupt gzip stream.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    error: Option<io::Error>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                Ok(n)
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted && self.error.is_none() {
                    self.error = Some(io::Error::new(e.kind(), e.to_string()));
                }
                Err(e)
            }
        }
    }
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
    expected: &Expected<'_>,
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
    let name = dest.file_name().map_or_else(
        || "restore".into(),
        |n| n.to_string_lossy().into_owned(),
    );
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

/// How [`apply`] went.
#[derive(Debug, Clone)]
pub struct Applied {
    pub pages: u64,
    pub bytes: u64,
    pub duration: Duration,
}

/// [`apply`] failed. SQLite rolls back a write that did not complete, so
/// usually the live database is as it was; `live_changed` says when the new
/// content may have been committed all the same (its schema cookie moved).
#[derive(Debug)]
pub struct ApplyFailure {
    pub error: RestoreError,
    pub live_changed: bool,
}

/// Writes the verified copy `source` into the live database `live`, in one
/// write transaction: readers go on reading the old content until it
/// commits; writers wait for it. Waits up to `lock_wait` for the
/// application's write transactions to let go of the lock.
pub fn apply(source: &Path, live: &Path, lock_wait: Duration) -> Result<Applied, ApplyFailure> {
    let unchanged = |error: RestoreError| ApplyFailure {
        error,
        live_changed: false,
    };
    let sqlite = sqlite_error;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let src = Connection::open_with_flags(source, flags)
        .map_err(sqlite("cannot open the restore copy"))
        .map_err(unchanged)?;
    if !live.exists() {
        return Err(unchanged(
            EngineError::DatabaseNotFound {
                path: live.to_path_buf(),
            }
            .into(),
        ));
    }
    let mut dst = Connection::open_with_flags(live, flags)
        .map_err(sqlite("cannot open the live database"))
        .map_err(unchanged)?;
    dst.busy_timeout(Duration::from_millis(500))
        .map_err(sqlite("cannot configure the live database connection"))
        .map_err(unchanged)?;
    let (before, wal) = prepare_live(&src, &dst).map_err(unchanged)?;

    let started = Instant::now();
    let result = {
        let backup = Backup::new(&src, &mut dst)
            .map_err(sqlite("cannot start writing into the live database"))
            .map_err(unchanged)?;
        loop {
            match backup.step(-1) {
                Ok(StepResult::Done) => break Ok(backup.progress().pagecount),
                Ok(_) if started.elapsed() < lock_wait => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(_) => {
                    break Err(RestoreError::from(EngineError::Busy(format!(
                        "the live database stayed locked by its application for {lock_wait:?}"
                    ))));
                }
                Err(e) => break Err(sqlite("cannot write into the live database")(e)),
            }
        }
        // Dropping the backup finishes it: an incomplete write is rolled back.
    };
    match result {
        Ok(pages) => {
            if wal {
                truncate_wal(&dst);
            }
            let page_size: i64 = dst.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap_or(0);
            Ok(Applied {
                pages: pages.max(0) as u64,
                bytes: (pages.max(0) as u64) * page_size.max(0) as u64,
                duration: started.elapsed(),
            })
        }
        Err(error) => {
            let after = schema_version(&dst).ok();
            if wal {
                truncate_wal(&dst);
            }
            Err(ApplyFailure {
                error,
                live_changed: after != Some(before),
            })
        }
    }
}

/// Checks that the copy can go into the live database; returns the live
/// database's schema cookie and whether it is in WAL mode.
fn prepare_live(src: &Connection, dst: &Connection) -> Result<(i64, bool), RestoreError> {
    let err = sqlite_error("cannot read the settings of the databases");
    let journal_mode: String = dst
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(&err)?;
    let page_size = |c: &Connection| c.query_row("PRAGMA page_size", [], |r| r.get::<_, u32>(0));
    let (backup, live) = (page_size(src).map_err(&err)?, page_size(dst).map_err(&err)?);
    let wal = journal_mode.eq_ignore_ascii_case("wal");
    if wal && backup != live {
        return Err(RestoreError::PageSizeMismatch { backup, live });
    }
    Ok((schema_version(dst).map_err(&err)?, wal))
}

fn sqlite_error(context: &'static str) -> impl Fn(rusqlite::Error) -> RestoreError {
    move |e| EngineError::sqlite(context, e).into()
}

fn schema_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA schema_version", [], |r| r.get(0))
}

/// Moves the WAL into the database file and truncates it, without waiting:
/// if the application is reading or writing, SQLite finishes it later.
fn truncate_wal(conn: &Connection) {
    let _ = conn.busy_timeout(Duration::ZERO);
    match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    }) {
        Ok((0, _, _)) => {}
        Ok((_, log, done)) => {
            tracing::debug!(log, done, "the WAL is in use; SQLite checkpoints it later")
        }
        Err(e) => tracing::debug!(error = %e, "checkpoint after the restore did not run"),
    }
}

/// `PRAGMA integrity_check` on the live database. In WAL mode it is a read
/// transaction: the application goes on writing meanwhile.
pub fn check_live(live: &Path) -> Result<(), RestoreError> {
    Ok(snapshot::integrity_check(live)?)
}

#[cfg(test)]
mod tests;
