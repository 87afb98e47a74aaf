//! Streaming gzip with SHA-256 of both sides (SPEC §3.4–3.5): one pass over
//! the snapshot in fixed-size chunks, so memory stays bounded whatever the
//! database size. The output is standard gzip (`gunzip -t` accepts it).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::EngineError;
use crate::fsutil;

const CHUNK: usize = 1 << 20;

/// What compression produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compressed {
    pub raw_size: u64,
    pub raw_sha256: String,
    pub gz_size: u64,
    pub gz_sha256: String,
}

/// `sha256:<hex>`, as stored and shown.
pub fn checksum_text(digest: impl AsRef<[u8]>) -> String {
    format!("sha256:{}", hex::encode(digest))
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Compresses `source` into the new file `dest` (mode 0600), fsyncs it, and
/// reports the fraction done to `progress`.
pub fn gzip_file(
    source: &Path,
    dest: &Path,
    progress: &mut dyn FnMut(f64) -> Result<(), EngineError>,
) -> Result<Compressed, EngineError> {
    let read_err = |e| EngineError::io("cannot read the snapshot", source, e);
    let write_err = |e| EngineError::io("cannot write the backup file", dest, e);
    let mut input = File::open(source).map_err(read_err)?;
    let total = input.metadata().map_err(read_err)?.len().max(1);
    let output = fsutil::create_private_file(dest).map_err(write_err)?;
    let sink = Hashing {
        inner: BufWriter::with_capacity(CHUNK, output),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let mut encoder = GzEncoder::new(sink, Compression::new(6));
    let mut raw_hasher = Sha256::new();
    let mut raw_size = 0u64;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_err(e)),
        };
        raw_hasher.update(&buf[..n]);
        raw_size += n as u64;
        encoder.write_all(&buf[..n]).map_err(write_err)?;
        progress(raw_size as f64 / total as f64)?;
    }
    let sink = encoder.finish().map_err(write_err)?;
    let file = sink
        .inner
        .into_inner()
        .map_err(|e| write_err(e.into_error()))?;
    file.sync_all().map_err(write_err)?;
    Ok(Compressed {
        raw_size,
        raw_sha256: checksum_text(raw_hasher.finalize()),
        gz_size: sink.bytes,
        gz_sha256: checksum_text(sink.hasher.finalize()),
    })
}

/// SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                size += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((size, checksum_text(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;

    #[test]
    fn compressed_output_decompresses_to_the_input_and_hashes_match() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("in");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src, &data).unwrap();
        let dest = dir.path().join("out.gz");
        let mut calls = 0;
        let c = gzip_file(&src, &dest, &mut |_| {
            calls += 1;
            Ok(())
        })
        .unwrap();
        assert!(calls >= 3, "progress is reported per chunk");
        assert_eq!(c.raw_size, data.len() as u64);
        assert_eq!(
            sha256_file(&dest).unwrap(),
            (c.gz_size, c.gz_sha256.clone())
        );
        assert_eq!(sha256_file(&src).unwrap().1, c.raw_sha256);
        let mut back = Vec::new();
        GzDecoder::new(File::open(&dest).unwrap())
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }
}
