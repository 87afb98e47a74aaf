//! Reading a backup file once: what a `.db.gz` should be ([`Expected`]),
//! readers and writers that hash what passes through them, and the one
//! pass ([`read_backup`]) that the verification, the restore copy and the
//! offsite copies all judge from. The file is read in fixed-size chunks:
//! memory stays bounded whatever the backup's size.

use std::fs::File;
use std::io::{self, BufRead, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use flate2::bufread::GzDecoder;
use nexus_domain::Checksum;
use sha2::{Digest, Sha256};

/// Read and decompression buffer size.
pub const CHUNK: usize = 1 << 20;
/// The first two bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// What the record says a backup file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Size of the `.db.gz` in bytes, when recorded.
    pub file_size: Option<u64>,
    /// Checksum of the `.db.gz`.
    pub checksum: Checksum,
    /// Size of the database once decompressed, when recorded.
    pub original_size: Option<u64>,
    /// Checksum of the database once decompressed, when recorded.
    pub raw_checksum: Option<Checksum>,
}

/// Hashes and counts what is read through it; keeps the first read error
/// so that a failing disk is told apart from a corrupt gzip stream.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
    error: Option<io::Error>,
}

impl<R> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
            error: None,
        }
    }

    /// Bytes read, their checksum, and the first read error if any.
    pub fn finish(self) -> (u64, Checksum, Option<io::Error>) {
        (
            self.bytes,
            Checksum::from_digest(self.hasher.finalize()),
            self.error,
        )
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                self.bytes += n as u64;
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

/// Hashes and counts what is written through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The writer back, with the bytes written and their checksum.
    pub fn finish(self) -> (W, u64, Checksum) {
        (
            self.inner,
            self.bytes,
            Checksum::from_digest(self.hasher.finalize()),
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
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

/// Size and checksum of everything `reader` gives, streamed.
pub fn checksum_of(reader: impl Read) -> io::Result<(u64, Checksum)> {
    let mut hashing = HashingReader::new(reader);
    io::copy(&mut hashing, &mut io::sink())?;
    let (bytes, checksum, _) = hashing.finish();
    Ok((bytes, checksum))
}

/// What one pass over a backup file found.
#[derive(Debug)]
pub struct Pass {
    /// The file could not be read to its end.
    pub read_error: Option<io::Error>,
    pub bytes_read: u64,
    /// Checksum of every byte of the file.
    pub checksum: Checksum,
    /// The gzip stream is corrupt or ends early.
    pub gzip_error: Option<io::Error>,
    /// Bytes after the end of the last gzip member.
    pub trailing: u64,
    /// Bytes the gzip stream decompressed to (up to an error).
    pub raw_bytes: u64,
    pub raw_checksum: Checksum,
    /// Writing the decompressed copy failed (the pass went on without it).
    pub copy_error: Option<io::Error>,
}

impl Pass {
    /// What a corrupt stream says, for people: "ends early" for a
    /// truncated file.
    pub fn describe_gzip_error(e: &io::Error) -> String {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => "the gzip stream ends early (truncated file)".into(),
            _ => format!("the gzip stream is corrupt: {e}"),
        }
    }
}

/// Reads `source` once: hashes every byte, decodes the gzip members (a
/// backup is a series of them, one per compressed chunk, as `gunzip` reads
/// it), hashes and counts their output and writes it to `copy` when there
/// is one. After a gzip error, or a failed write to `copy`, the rest of the
/// file is still read, so the checksum always covers the whole file.
///
/// Three threads share the work, so that the decoding, the slowest part,
/// is all the critical path holds: one reads and hashes the file, this one
/// decodes, and one hashes the output and writes the copy. Chunks go round
/// between them in a few recycled buffers: memory stays bounded.
pub fn read_backup(source: File, copy: Option<&mut File>) -> Pass {
    std::thread::scope(|scope| {
        let (file_tx, file_rx) = sync_channel::<Vec<u8>>(IN_FLIGHT);
        let (file_free_tx, file_free_rx) = sync_channel::<Vec<u8>>(IN_FLIGHT + 2);
        let reader = spawn_scoped(scope, "backup-read", move || {
            let mut source = HashingReader::new(source);
            loop {
                let mut buf = file_free_rx.try_recv().unwrap_or_default();
                buf.resize(CHUNK, 0);
                // A read error is kept by the hashing reader.
                let (n, error) = read_full(&mut source, &mut buf);
                buf.truncate(n);
                let gone = n > 0 && file_tx.send(buf).is_err();
                // A short chunk without an error is the end of the file.
                if gone || n < CHUNK || error.is_some() {
                    break;
                }
            }
            source.finish()
        });
        let (raw_tx, raw_rx) = sync_channel::<Vec<u8>>(IN_FLIGHT);
        let (raw_free_tx, raw_free_rx) = sync_channel::<Vec<u8>>(IN_FLIGHT + 2);
        let writer = spawn_scoped(scope, "backup-copy", move || {
            let mut copy = copy;
            let mut raw = HashingWriter::new(io::sink());
            let mut copy_error = None;
            for buf in raw_rx {
                let _ = raw.write_all(&buf);
                if let Some(out) = copy.as_mut()
                    && let Err(e) = out.write_all(&buf)
                {
                    copy_error = Some(e);
                    copy = None;
                }
                let _ = raw_free_tx.try_send(buf);
            }
            if let Some(out) = copy
                && let Err(e) = out.flush()
            {
                copy_error = Some(e);
            }
            let (_, raw_bytes, raw_checksum) = raw.finish();
            (raw_bytes, raw_checksum, copy_error)
        });
        let mut input = Chunks {
            incoming: file_rx,
            free: file_free_tx,
            current: Vec::new(),
            at: 0,
        };
        let (gzip_error, trailing) = decode(&mut input, &raw_tx, &raw_free_rx);
        drop((input, raw_tx));
        let (bytes_read, checksum, read_error) =
            reader.join().expect("the reading thread panicked");
        let (raw_bytes, raw_checksum, copy_error) =
            writer.join().expect("the copying thread panicked");
        Pass {
            read_error,
            bytes_read,
            checksum,
            gzip_error,
            trailing,
            raw_bytes,
            raw_checksum,
            copy_error,
        }
    })
}

/// Chunks in flight between two threads of [`read_backup`].
const IN_FLIGHT: usize = 4;

fn spawn_scoped<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    name: &str,
    work: impl FnOnce() -> T + Send + 'scope,
) -> std::thread::ScopedJoinHandle<'scope, T> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn_scoped(scope, work)
        .expect("cannot start a thread of the backup's reading pass")
}

/// Decodes the gzip members of `input`, sending their output to `raw` in
/// buffers that come back through `free`; then reads what is left. Returns
/// the gzip error, if any, and the bytes after the last member.
fn decode(
    input: &mut Chunks,
    raw: &SyncSender<Vec<u8>>,
    free: &Receiver<Vec<u8>>,
) -> (Option<io::Error>, u64) {
    let mut gzip_error = None;
    'members: loop {
        let mut decoder = GzDecoder::new(&mut *input);
        loop {
            let mut buf = free.try_recv().unwrap_or_default();
            buf.resize(CHUNK, 0);
            let (n, error) = read_full(&mut decoder, &mut buf);
            buf.truncate(n);
            if n > 0 {
                // The writer only stops when this side is gone.
                let _ = raw.send(buf);
            }
            if let Some(e) = error {
                gzip_error = Some(e);
                break 'members;
            }
            if n == 0 {
                break;
            }
        }
        match input.fill_buf() {
            Ok(next) if starts_member(next) => {}
            _ => break,
        }
    }
    // The rest of the file: trailing data after the last member, or what
    // follows a corrupt member (still hashed for the checksum).
    let rest = io::copy(input, &mut io::sink()).unwrap_or(0);
    let trailing = if gzip_error.is_none() { rest } else { 0 };
    (gzip_error, trailing)
}

/// Fills `buf` as far as `reader` goes: the bytes read, and the error
/// that stopped it early, if any (a short count without one is the end).
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (filled, Some(e)),
        }
    }
    (filled, None)
}

/// The file's chunks as they arrive from the reading thread, read as one
/// stream; spent buffers go back to it.
struct Chunks {
    incoming: Receiver<Vec<u8>>,
    free: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Chunks {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at == self.current.len() {
            match self.incoming.recv() {
                Ok(next) => {
                    let spent = std::mem::replace(&mut self.current, next);
                    let _ = self.free.try_send(spent);
                    self.at = 0;
                }
                // The reading thread is done: the end of the file, or a
                // read error it keeps.
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.current[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.current.len());
    }
}

/// Whether the next bytes begin a gzip member (a lone first byte at the
/// end of the buffer counts: the decoder then checks the whole header).
fn starts_member(next: &[u8]) -> bool {
    match next {
        [a, b, ..] => [*a, *b] == GZIP_MAGIC,
        [a] => *a == GZIP_MAGIC[0],
        [] => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn pass_over(bytes: &[u8]) -> (Pass, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let (file, copy) = (dir.path().join("b.db.gz"), dir.path().join("copy"));
        std::fs::write(&file, bytes).unwrap();
        let mut out = File::create(&copy).unwrap();
        let pass = read_backup(File::open(&file).unwrap(), Some(&mut out));
        (pass, std::fs::read(&copy).unwrap())
    }

    #[test]
    fn one_pass_over_two_members_gives_both_checksums_and_the_whole_content() {
        let mut file = gzip(b"first member, ");
        file.extend(gzip(b"second member"));
        let (pass, copy) = pass_over(&file);
        assert!(pass.gzip_error.is_none() && pass.read_error.is_none());
        assert_eq!(copy, b"first member, second member");
        assert_eq!(pass.checksum, Checksum::from_digest(Sha256::digest(&file)));
        assert_eq!(
            pass.raw_checksum,
            Checksum::from_digest(Sha256::digest(&copy))
        );
        assert_eq!(
            (pass.bytes_read, pass.raw_bytes, pass.trailing),
            (file.len() as u64, copy.len() as u64, 0)
        );
    }

    #[test]
    fn a_truncated_file_is_a_gzip_error_and_still_hashed_whole() {
        let file = gzip(&[7u8; 100_000]);
        let cut = &file[..file.len() - 10];
        let (pass, _) = pass_over(cut);
        let e = pass.gzip_error.expect("a gzip error");
        assert!(Pass::describe_gzip_error(&e).contains("ends early"), "{e}");
        assert_eq!(pass.checksum, Checksum::from_digest(Sha256::digest(cut)));
    }

    #[test]
    fn bytes_after_the_last_member_are_counted_as_trailing() {
        let mut file = gzip(b"content");
        file.extend(b"junk");
        let (pass, copy) = pass_over(&file);
        assert_eq!((pass.trailing, copy.as_slice()), (4, &b"content"[..]));
    }
}
