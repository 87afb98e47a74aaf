//! Reading a backup file once: what a `.db.gz` should be ([`Expected`]),
//! readers and writers that hash what passes through them, and the one
//! pass ([`read_backup`]) that the verification, the restore copy and the
//! offsite copies all judge from. The file is read in fixed-size chunks:
//! memory stays bounded whatever the backup's size.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};

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
pub fn read_backup(source: File, mut copy: Option<&mut File>) -> Pass {
    let mut source = HashingReader::new(source);
    let mut raw = HashingWriter::new(io::sink());
    let (mut gzip_error, mut copy_error, mut trailing) = (None, None, 0);
    let mut buf = vec![0u8; CHUNK];
    let mut input = BufReader::with_capacity(CHUNK, &mut source);
    'members: loop {
        let mut decoder = GzDecoder::new(&mut input);
        loop {
            match decoder.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let _ = raw.write_all(&buf[..n]);
                    if let Some(out) = copy.as_mut()
                        && let Err(e) = out.write_all(&buf[..n])
                    {
                        copy_error = Some(e);
                        copy = None;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    gzip_error = Some(e);
                    break 'members;
                }
            }
        }
        // A read error here is kept by the hashing reader.
        match input.fill_buf() {
            Ok(next) if starts_member(next) => {}
            _ => break,
        }
    }
    // The rest of the file: trailing data after the last member, or what
    // follows a corrupt member (still hashed for the checksum).
    match io::copy(&mut input, &mut io::sink()) {
        Ok(n) if gzip_error.is_none() => trailing = n,
        Ok(_) | Err(_) => {}
    }
    if let Some(out) = copy
        && let Err(e) = out.flush()
    {
        copy_error = Some(e);
    }
    let (bytes_read, checksum, read_error) = source.finish();
    let (_, raw_bytes, raw_checksum) = raw.finish();
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
