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
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread;

use libdeflater::{CompressionLvl, Compressor};
use sha2::{Digest, Sha256};

use nexus_domain::Checksum;

use crate::reading::{HashingWriter, checksum_of};
use crate::sharing::LentCore;
use crate::{EngineError, fsutil, level};

/// Size of one gzip member's input. Large enough that restarting the
/// dictionary at each member costs well under 1% of output size.
pub const CHUNK_BYTES: usize = 4 << 20;
/// Reads and hashes are done in buffers of this size.
const IO_BYTES: usize = 1 << 20;

/// How to compress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompressOptions {
    /// libdeflate level, 1 (fastest) to 12 (smallest); 0, the default,
    /// lets each backup choose the cheapest level that keeps its file
    /// within 5% of `gzip -6`'s size ([`crate::level`]).
    pub level: u8,
    /// Compressing threads; 0 means one per core.
    pub threads: usize,
}

impl CompressOptions {
    /// These options with the level `level`.
    pub fn at(self, level: u8) -> CompressOptions {
        CompressOptions { level, ..self }
    }

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
/// reports the fraction read to `progress`. Level 0 is chosen on a sample
/// of `source` ([`level::resolve`]).
pub fn gzip_file(
    source: &Path,
    dest: &Path,
    options: CompressOptions,
    progress: &mut dyn FnMut(f64) -> Result<(), EngineError>,
) -> Result<Compressed, EngineError> {
    let read_err = |e| EngineError::io("cannot read the snapshot", source, e);
    let mut input = File::open(source).map_err(read_err)?;
    let total = input.metadata().map_err(read_err)?.len();
    let options = options.at(level::resolve(options.level, source).map_err(read_err)?);
    gzip_stream(
        Input {
            total,
            write_to: &mut |sink| io::copy(&mut input, sink).map(drop).map_err(read_err),
        },
        dest,
        options,
        None,
        progress,
    )
}

/// What [`gzip_stream`] compresses: `write_to` writes all of it into the
/// sink it is given; `total` (its expected size) scales the progress.
pub struct Input<'a> {
    pub total: u64,
    pub write_to: &'a mut dyn FnMut(&mut dyn Write) -> Result<(), EngineError>,
}

/// Compresses what `input` writes into the new file `dest` (mode 0600),
/// hashing both sides, and fsyncs it. With `lent`, one compressing thread
/// (when there are two or more) waits until the core is given back, or
/// until everything is read: the core it would take is lent to work
/// running beside the compression.
pub fn gzip_stream(
    input: Input<'_>,
    dest: &Path,
    options: CompressOptions,
    lent: Option<&LentCore>,
    progress: &mut dyn FnMut(f64) -> Result<(), EngineError>,
) -> Result<Compressed, EngineError> {
    let write_err = |e| EngineError::io("cannot write the backup file", dest, e);
    if options.level == 0 {
        return Err(EngineError::InvalidOptions(
            "compression level 0: choose the level first (level::resolve)".into(),
        ));
    }
    let level = CompressionLvl::new(i32::from(options.level)).map_err(|_| {
        EngineError::InvalidOptions(format!("compression level {} (1–12)", options.level))
    })?;
    let output = fsutil::create_private_file(dest).map_err(write_err)?;
    let mut sink = HashingWriter::new(BufWriter::with_capacity(IO_BYTES, output));

    let threads = options.thread_count();
    let (raw_size, raw_sha256) = thread::scope(|scope| -> Result<(u64, Checksum), EngineError> {
        let (chunk_tx, chunk_rx) = sync_channel::<(u64, Vec<u8>)>(threads);
        let (member_tx, member_rx) = sync_channel::<(u64, Vec<u8>)>(threads);
        // Shared by the compressors; dropped with the last of them, so the
        // input never blocks on a queue nobody drains.
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
        let mut chunks = Chunks::new(chunk_tx, input.total, progress);
        let read = (input.write_to)(&mut chunks);
        let read = chunks.finish(read);
        // Nothing more to hold back for: the waiting thread, if it still
        // waits, helps with the last chunks or finds the queue closed.
        if let Some(lent) = held {
            lent.give_back();
        }
        // A failed write stops the compressors and then the input: the
        // write's error is the cause.
        writer
            .join()
            .expect("the writer thread panicked")
            .map_err(write_err)?;
        read
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

/// Where the input is written: cuts it into chunks, hashes it, and hands
/// the chunks out in order.
struct Chunks<'p> {
    chunk: Vec<u8>,
    index: u64,
    size: u64,
    hasher: Sha256,
    queue: SyncSender<(u64, Vec<u8>)>,
    total: u64,
    progress: &'p mut dyn FnMut(f64) -> Result<(), EngineError>,
    /// Why writing stopped, when it was not an I/O error of the input.
    stopped: Option<EngineError>,
}

impl<'p> Chunks<'p> {
    fn new(
        queue: SyncSender<(u64, Vec<u8>)>,
        total: u64,
        progress: &'p mut dyn FnMut(f64) -> Result<(), EngineError>,
    ) -> Self {
        Chunks {
            chunk: Vec::with_capacity(CHUNK_BYTES),
            index: 0,
            size: 0,
            hasher: Sha256::new(),
            queue,
            total: total.max(1),
            progress,
            stopped: None,
        }
    }

    fn hand_out(&mut self) -> io::Result<()> {
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK_BYTES));
        self.hasher.update(&chunk);
        self.size += chunk.len() as u64;
        if self.queue.send((self.index, chunk)).is_err() {
            // The writer stopped on an error; it reports it.
            return Err(self.stop(EngineError::Aborted(
                "the backup file cannot be written".into(),
            )));
        }
        self.index += 1;
        let fraction = (self.size as f64 / self.total as f64).min(1.0);
        (self.progress)(fraction).map_err(|e| self.stop(e))
    }

    fn stop(&mut self, why: EngineError) -> io::Error {
        self.stopped = Some(why);
        io::Error::other("the compression stopped")
    }

    /// The input's size and checksum once `read` (the input's own result)
    /// is in; the last, short chunk is handed out here. An empty input
    /// still gets one (empty) member: a valid gzip file.
    fn finish(mut self, read: Result<(), EngineError>) -> Result<(u64, Checksum), EngineError> {
        if let Some(why) = self.stopped.take() {
            return Err(why);
        }
        read?;
        if !self.chunk.is_empty() || self.index == 0 {
            self.hand_out()
                .map_err(|_| self.stopped.take().expect("a stop has its reason"))?;
        }
        Ok((self.size, Checksum::from_digest(self.hasher.finalize())))
    }
}

impl Write for Chunks<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.stopped.is_some() {
            return Err(io::Error::other("the compression stopped"));
        }
        let n = buf.len().min(CHUNK_BYTES - self.chunk.len());
        self.chunk.extend_from_slice(&buf[..n]);
        if self.chunk.len() == CHUNK_BYTES {
            self.hand_out()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
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
    use std::io::Read;

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
        let mut input = File::open(&src).unwrap();
        let c = gzip_stream(
            Input {
                total: data.len() as u64,
                write_to: &mut |sink| {
                    io::copy(&mut input, sink).unwrap();
                    Ok(())
                },
            },
            &dest,
            options,
            Some(&lent),
            &mut |_| Ok(()),
        )
        .unwrap();
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
