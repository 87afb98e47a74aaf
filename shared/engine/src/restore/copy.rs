//! Decompressing a backup into a new file while checking it, in the one
//! pass over the `.db.gz` that the verification makes too
//! ([`crate::reading`]).

use std::fs::File;
use std::io;
use std::path::Path;

use super::{DecompressedCopy, RestoreError, VerifiedCopy};
use crate::reading::{Expected, Pass, read_backup};
use crate::{EngineError, fsutil, snapshot};

/// Decompresses `backup` into the new file `copy` (mode 0600) and checks
/// what one pass can: the `.db.gz`'s SHA-256, a complete gzip stream, the
/// database's size and SHA-256. Its `integrity_check` is left to
/// [`DecompressedCopy::check`] or to [`super::apply`], which runs it
/// beside its writes. On any error `copy` is removed.
pub fn decompress_into(
    backup: &Path,
    expected: &Expected,
    copy: &Path,
) -> Result<DecompressedCopy, RestoreError> {
    let input = File::open(backup).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => RestoreError::BackupMissing {
            path: backup.to_path_buf(),
        },
        _ => EngineError::io("cannot open the backup file", backup, e).into(),
    })?;
    let mut output = fsutil::create_private_file(copy)
        .map_err(|e| EngineError::io("cannot create the restore copy", copy, e))?;
    let mut decompressed = DecompressedCopy {
        path: copy.to_path_buf(),
        bytes: 0,
    };
    let pass = read_backup(input, Some(&mut output));
    drop(output);
    if let Some(e) = pass.read_error {
        return Err(EngineError::io("cannot read the backup file", backup, e).into());
    }
    if let Some(e) = pass.copy_error {
        return Err(EngineError::io("cannot write the restore copy", copy, e).into());
    }
    if pass.checksum != expected.checksum {
        return Err(RestoreError::ChecksumMismatch {
            expected: expected.checksum.clone(),
            actual: pass.checksum,
        });
    }
    let corrupt = |detail: String| RestoreError::BackupCorrupt { detail };
    if let Some(e) = &pass.gzip_error {
        return Err(corrupt(format!(
            "{} after {} bytes of output",
            Pass::describe_gzip_error(e),
            pass.raw_bytes
        )));
    }
    if pass.trailing > 0 {
        return Err(corrupt(format!(
            "{} bytes of unexpected data after the end of the gzip stream",
            pass.trailing
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
    if let Some(sum) = &expected.raw_checksum
        && *sum != pass.raw_checksum
    {
        return Err(corrupt(format!(
            "the decompressed database is {}; the record says {sum}",
            pass.raw_checksum
        )));
    }
    decompressed.bytes = pass.raw_bytes;
    Ok(decompressed)
}

/// [`decompress_into`], then the copy's `integrity_check`: every check a
/// backup gets before it is used.
pub fn verify_into(
    backup: &Path,
    expected: &Expected,
    copy: &Path,
) -> Result<VerifiedCopy, RestoreError> {
    decompress_into(backup, expected, copy)?.check()
}

impl DecompressedCopy {
    /// Runs the copy's `integrity_check` (through a memory map: the file is
    /// this process's own).
    pub fn check(self) -> Result<VerifiedCopy, RestoreError> {
        check_copy(self.path())?;
        Ok(VerifiedCopy(self))
    }
}

/// The copy's `integrity_check`; a failure is a corrupt backup.
pub(super) fn check_copy(copy: &Path) -> Result<(), RestoreError> {
    match snapshot::integrity_check_mapped(copy) {
        Ok(()) => Ok(()),
        Err(EngineError::IntegrityCheckFailed { detail }) => Err(RestoreError::BackupCorrupt {
            detail: format!("PRAGMA integrity_check: {detail}"),
        }),
        Err(e) => Err(e.into()),
    }
}
