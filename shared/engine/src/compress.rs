//! Parallel gzip with SHA-256 of both sides in the same pass (SPEC §3.4–3.5).
//!
//! The input is cut into fixed-size chunks; a pool of threads compresses
//! each chunk into a complete gzip member with libdeflate, and the members
//! are written in order. The result is a standard multi-member gzip file
//! (RFC 1952 §2.2): `gunzip -t`, `gunzip -c` and `zcat` read it as one
//! stream. Memory is bounded by the chunks in flight (about
//! `2 × threads` chunks on each side), whatever the size of the input.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread;

use libdeflater::{CompressionLvl, Compressor};
use sha2::{Digest, Sha256};

use nexus_domain::Checksum;

use crate::reading::{HashingWriter, checksum_of};
use crate::sharing::LentCore;
use crate::{EngineError, fsutil};

/// Size of one gzip member's input. Large enough that restarting the
/// dictionary at each member costs well under 1% of output size.
pub const CHUNK_BYTES: usize = 4 << 20;
/// Reads and hashes are done in buffers of this size.
const IO_BYTES: usize = 1 << 20;

/// How to compress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompressOptions {
    /// libdeflate level, 1 (fastest) to 12 (smallest). 6 matches `gzip -6`'s
    /// size; the default, 5, is about 2% larger and 13% cheaper, which on two
    /// cores keeps the compression off the backup's critical path (the
    /// integrity check); see docs/performance.md.
    pub level: u8,
    /// Compressing threads; 0 means one per core.
    pub threads: usize,
}

impl Default for CompressOptions {
    fn default() -> Self {
        CompressOptions {
            level: 5,
            threads: 0,
        }
    }
}

impl CompressOptions {
    fn thread_count(&self) -> usize {
        match self.threads {
            0 => thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// What compression produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compressed {
    pub raw_size: u64,
    pub raw_sha256: Checksum,
    pub gz_size: u64,
    pub gz_sha256: Checksum,
}

/// Compresses `source` into the new file `dest` (mode 0600), fsyncs it, and
/// reports the fraction read to `progress`.
pub fn gzip_file(
    source: &Path,
    dest: &Path,
    options: CompressOptions,
    progress: &mut dyn FnMut(f64) -> Result<(), EngineError>,
) -> Result<Compressed, EngineError> {
    gzip_file_sharing(source, dest, options, None, progress)
}

/// [`gzip_file`], with one compressing thread (when there are two or more)
/// waiting until `lent` is given back, or until everything is read: the
/// core it would take is lent to work running beside the compression.
pub fn gzip_file_sharing(
    source: &Path,
    dest: &Path,
    options: CompressOptions,
    lent: Option<&LentCore>,
    progress: &mut dyn FnMut(f64) -> Result<(), EngineError>,
) -> Result<Compressed, EngineError> {
    let read_err = |e| EngineError::io("cannot read the snapshot", source, e);
    let write_err = |e| EngineError::io("cannot write the backup file", dest, e);
    let mut input = File::open(source).map_err(read_err)?;
    let total = input.metadata().map_err(read_err)?.len().max(1);
    let output = fsutil::create_private_file(dest).map_err(write_err)?;
    let mut sink = HashingWriter::new(BufWriter::with_capacity(IO_BYTES, output));
    let level = CompressionLvl::new(i32::from(options.level)).map_err(|_| {
        EngineError::InvalidOptions(format!("compression level {} (1–12)", options.level))
    })?;

    let threads = options.thread_count();
    let (raw_size, raw_sha256) = thread::scope(|scope| -> Result<(u64, Checksum), EngineError> {
        let (chunk_tx, chunk_rx) = sync_channel::<(u64, Vec<u8>)>(threads);
        let (member_tx, member_rx) = sync_channel::<(u64, Vec<u8>)>(threads);
        // Shared by the compressors; dropped with the last of them, so the
        // reader never blocks on a queue nobody drains.
        let chunk_rx = Arc::new(Mutex::new(chunk_rx));
        let held = lent.filter(|_| threads > 1);
        for i in 0..threads {
            let (chunk_rx, member_tx) = (chunk_rx.clone(), member_tx.clone());
            let wait_for = held.filter(|_| i == 0);
            scope.spawn(move || {
                if let Some(lent) = wait_for {
                    lent.wait();
                }
                compress_members(level, &chunk_rx, member_tx)
            });
        }
        drop((chunk_rx, member_tx));
        let writer = scope.spawn(|| write_in_order(member_rx, &mut sink));
        let read = read_chunks(&mut input, chunk_tx, total, progress).map_err(|e| match e {
            ReadError::Io(e) => read_err(e),
            ReadError::Stopped(e) => e,
        });
        // Nothing more to hold back for: the waiting thread, if it still
        // waits, helps with the last chunks or finds the queue closed.
        if let Some(lent) = held {
            lent.give_back();
        }
        let written = writer
            .join()
            .expect("the writer thread panicked")
            .map_err(write_err);
        let read = read?;
        written?;
        Ok(read)
    })?;

    let (buffered, gz_size, gz_sha256) = sink.finish();
    let file = buffered
        .into_inner()
        .map_err(|e| write_err(e.into_error()))?;
    file.sync_all().map_err(write_err)?;
    Ok(Compressed {
        raw_size,
        raw_sha256,
        gz_size,
        gz_sha256,
    })
}

enum ReadError {
    Io(io::Error),
    Stopped(EngineError),
}

/// Reads the input in chunks, hashing it, and hands the chunks out in order.
fn read_chunks(
    input: &mut File,
    chunks: SyncSender<(u64, Vec<u8>)>,
    total: u64,
    progress: &mut dyn FnMut(f64) -> Result<(), EngineError>,
) -> Result<(u64, Checksum), ReadError> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    for index in 0.. {
        let chunk = read_full(input, CHUNK_BYTES).map_err(ReadError::Io)?;
        // An empty input still gets one (empty) member: a valid gzip file.
        if chunk.is_empty() && index > 0 {
            break;
        }
        let last = chunk.len() < CHUNK_BYTES;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        if chunks.send((index, chunk)).is_err() {
            break; // the writer stopped on an error; it reports it
        }
        progress(size as f64 / total as f64).map_err(ReadError::Stopped)?;
        if last {
            break;
        }
    }
    Ok((size, Checksum::from_digest(hasher.finalize())))
}

/// Reads up to `limit` bytes, fewer only at the end of the input.
fn read_full(input: &mut File, limit: usize) -> io::Result<Vec<u8>> {
    let mut chunk = Vec::with_capacity(limit);
    input.take(limit as u64).read_to_end(&mut chunk)?;
    Ok(chunk)
}

/// A compressing thread: each chunk becomes one complete gzip member.
fn compress_members(
    level: CompressionLvl,
    chunks: &Mutex<Receiver<(u64, Vec<u8>)>>,
    members: SyncSender<(u64, Vec<u8>)>,
) {
    let mut compressor = Compressor::new(level);
    loop {
        let next = chunks.lock().expect("chunk queue poisoned").recv();
        let Ok((index, chunk)) = next else { return };
        let mut member = vec![0u8; compressor.gzip_compress_bound(chunk.len())];
        let n = compressor
            .gzip_compress(&chunk, &mut member)
            .expect("the output buffer is sized by gzip_compress_bound");
        member.truncate(n);
        if members.send((index, member)).is_err() {
            return;
        }
    }
}

/// Writes members in input order as they arrive out of order.
fn write_in_order<W: Write>(members: Receiver<(u64, Vec<u8>)>, out: &mut W) -> io::Result<()> {
    let mut waiting = BTreeMap::new();
    let mut next = 0u64;
    for (index, member) in members {
        waiting.insert(index, member);
        while let Some(member) = waiting.remove(&next) {
            out.write_all(&member)?;
            next += 1;
        }
    }
    debug_assert!(waiting.is_empty());
    Ok(())
}

/// Size and checksum of a file, streamed.
pub fn sha256_file(path: &Path) -> io::Result<(u64, Checksum)> {
    checksum_of(File::open(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::MultiGzDecoder;

    fn compress(
        data: &[u8],
        options: CompressOptions,
    ) -> (tempfile::TempDir, Compressed, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("in");
        std::fs::write(&src, data).unwrap();
        let dest = dir.path().join("out.gz");
        let c = gzip_file(&src, &dest, options, &mut |_| Ok(())).unwrap();
        (dir, c, dest)
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i % 251) as u8 ^ (i / 7919) as u8)
            .collect()
    }

    #[test]
    fn the_output_decompresses_to_the_input_and_both_hashes_match() {
        let data = sample(3 * CHUNK_BYTES + 12_345);
        let (_dir, c, dest) = compress(
            &data,
            CompressOptions {
                level: 6,
                threads: 3,
            },
        );
        assert_eq!(c.raw_size, data.len() as u64);
        assert_eq!(
            sha256_file(&dest).unwrap(),
            (c.gz_size, c.gz_sha256.clone())
        );
        assert_eq!(c.raw_sha256, Checksum::from_digest(Sha256::digest(&data)));
        let mut back = Vec::new();
        MultiGzDecoder::new(File::open(&dest).unwrap())
            .read_to_end(&mut back)
            .unwrap();
        assert!(back == data, "round trip differs");
    }

    #[test]
    fn the_same_input_gives_the_same_bytes_whatever_the_thread_count() {
        let data = sample(2 * CHUNK_BYTES + 99);
        let (_a, one, _) = compress(
            &data,
            CompressOptions {
                level: 6,
                threads: 1,
            },
        );
        let (_b, four, _) = compress(
            &data,
            CompressOptions {
                level: 6,
                threads: 4,
            },
        );
        assert_eq!(one, four);
    }

    #[test]
    fn a_compression_lending_a_core_that_is_never_given_back_still_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("in");
        let data = sample(3 * CHUNK_BYTES + 7);
        std::fs::write(&src, &data).unwrap();
        let options = CompressOptions {
            level: 6,
            threads: 2,
        };
        let lent = LentCore::new();
        let dest = dir.path().join("out.gz");
        let c = gzip_file_sharing(&src, &dest, options, Some(&lent), &mut |_| Ok(())).unwrap();
        let (_other, plain, _) = compress(&data, options);
        assert_eq!(c, plain);
    }

    #[test]
    fn an_empty_input_gives_an_empty_but_valid_stream() {
        let (_dir, c, dest) = compress(b"", CompressOptions::default());
        assert_eq!(c.raw_size, 0);
        let mut back = Vec::new();
        MultiGzDecoder::new(File::open(&dest).unwrap())
            .read_to_end(&mut back)
            .unwrap();
        assert!(back.is_empty());
    }

    #[test]
    fn progress_can_stop_the_compression() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("in");
        std::fs::write(&src, sample(3 * CHUNK_BYTES)).unwrap();
        let err = gzip_file(
            &src,
            &dir.path().join("out.gz"),
            CompressOptions::default(),
            &mut |_| Err(EngineError::Aborted("test".into())),
        )
        .unwrap_err();
        assert_eq!(err.code(), "aborted");
    }
}
