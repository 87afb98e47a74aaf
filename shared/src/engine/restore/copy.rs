//! Decompressing a backup into a new file while checking it, in one pass
//! over the `.db.gz` in fixed-size chunks: memory stays bounded whatever
//! the backup's size.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;
use sha2::{Digest, Sha256};

use super::{Expected, RestoreError, VerifiedCopy};
use crate::engine::compress::checksum_text;
use crate::engine::{EngineError, snapshot};
use crate::fsutil;

/// Read and decompression buffer size.
const CHUNK: usize = 1 << 20;

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
