//! Segments: the committed transactions captured from a database's WAL
//! between two moments, as one self-checking file (issue 18). The format
//! is documented in `docs/segment-format.md`; this module is its one
//! writer and reader, and [`PageHashes`] is the database checksum the
//! segments chain by (each segment names the checksum of the database
//! before it and after it).
//!
//! A segment file is a gzip stream of: a 172-byte header, the pages (page
//! number, then the page), ascending and each page once, and the SHA-256
//! of everything before it. It is written under a temporary name, fsynced,
//! linked to its final name and its folder fsynced, mode 0600: a crash
//! leaves a whole segment or none under the final name.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use crate::fsutil;

const MAGIC: &[u8; 8] = b"NXWALSEG";
/// The format this module writes; readers refuse any other.
pub const VERSION: u16 = 1;
/// Bytes of the header.
pub const HEADER_BYTES: usize = 172;
const TRAILER_BYTES: usize = 32;
/// The name a segment file ends with.
pub const EXTENSION: &str = "seg.gz";

#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("cannot read the segment: {0}")]
    Io(#[from] io::Error),
    #[error("not a segment (no NXWALSEG magic)")]
    NotASegment,
    #[error("segment format version {0}; this build reads version {VERSION}")]
    UnknownVersion(u16),
    #[error("the segment is cut short")]
    Truncated,
    #[error("the segment's checksum does not hold: it is damaged")]
    Damaged,
    #[error("the segment is malformed: {0}")]
    Malformed(String),
}

/// The checksum of a whole database: the XOR, over its pages, of the
/// SHA-256 of the page number (4 bytes, big-endian) and the page. A change
/// of one page changes it by that page's old and new hashes alone, so it is
/// kept up to date transaction by transaction without reading the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DbChecksum(pub [u8; 32]);

impl DbChecksum {
    fn toggle(&mut self, hash: &[u8; 32]) {
        for (a, b) in self.0.iter_mut().zip(hash) {
            *a ^= b;
        }
    }
}

impl std::fmt::Display for DbChecksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

fn page_hash(pgno: u32, page: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(pgno.to_be_bytes());
    h.update(page);
    h.finalize().into()
}

/// The hash of every page of a database as last captured, and their
/// [`DbChecksum`]: what a capture compares the WAL's pages against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageHashes {
    hashes: BTreeMap<u32, [u8; 32]>,
    checksum: DbChecksum,
}

impl PageHashes {
    /// The hashes of a database given page by page.
    pub fn of_pages<'a>(pages: impl IntoIterator<Item = (u32, &'a [u8])>) -> PageHashes {
        let mut hashes = PageHashes::default();
        hashes.apply(pages, None);
        hashes
    }

    pub fn checksum(&self) -> DbChecksum {
        self.checksum
    }

    /// Every page's number and hash, ascending.
    pub fn entries(&self) -> impl Iterator<Item = (u32, &[u8; 32])> {
        self.hashes.iter().map(|(n, h)| (*n, h))
    }

    /// The hashes [`PageHashes::entries`] gave, and their checksum.
    pub fn from_entries(entries: impl IntoIterator<Item = (u32, [u8; 32])>) -> PageHashes {
        let mut hashes = PageHashes::default();
        for (pgno, hash) in entries {
            if let Some(old) = hashes.hashes.insert(pgno, hash) {
                hashes.checksum.toggle(&old);
            }
            hashes.checksum.toggle(&hash);
        }
        hashes
    }

    /// Pages in the database.
    pub fn page_count(&self) -> u32 {
        self.hashes.keys().next_back().copied().unwrap_or(0)
    }

    /// Whether `page` is what page `pgno` was when last captured.
    pub fn unchanged(&self, pgno: u32, page: &[u8]) -> bool {
        self.hashes.get(&pgno) == Some(&page_hash(pgno, page))
    }

    /// Writes `pages` in, then cuts the database to `commit_size` pages.
    pub fn apply<'a>(
        &mut self,
        pages: impl IntoIterator<Item = (u32, &'a [u8])>,
        commit_size: Option<u32>,
    ) {
        for (pgno, page) in pages {
            let hash = page_hash(pgno, page);
            if let Some(old) = self.hashes.insert(pgno, hash) {
                self.checksum.toggle(&old);
            }
            self.checksum.toggle(&hash);
        }
        if let Some(size) = commit_size {
            for (_, old) in self.hashes.split_off(&(size + 1)) {
                self.checksum.toggle(&old);
            }
        }
    }
}

/// What a segment says of itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentHeader {
    pub page_size: u32,
    /// The database this segment belongs to, and its lineage: a restore of
    /// the database starts a new lineage.
    pub database_id: ulid::Ulid,
    pub lineage: ulid::Ulid,
    /// 1, 2, … within the lineage; `previous` is 0 for a lineage's first.
    pub sequence: u64,
    pub previous: u64,
    /// The WAL the pages were read from, and where the capture stopped.
    pub wal_checkpoint_seq: u32,
    pub wal_salts: (u32, u32),
    pub wal_offset: u64,
    /// The database's size in pages after the segment's last commit.
    pub commit_size: u32,
    /// When the first and the last of its commits were captured (Unix ms).
    pub first_commit_ms: i64,
    pub last_commit_ms: i64,
    pub before: DbChecksum,
    pub after: DbChecksum,
}

/// A segment: its header and the pages its transactions left, ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub header: SegmentHeader,
    pub pages: Vec<(u32, Vec<u8>)>,
}

impl Segment {
    /// The file name of this segment in its lineage's folder.
    pub fn file_name(&self) -> String {
        format!("{:020}.{EXTENSION}", self.header.sequence)
    }

    /// The uncompressed bytes: header, pages, trailer.
    pub fn encode(&self) -> Result<Vec<u8>, SegmentError> {
        let h = &self.header;
        let size = h.page_size as usize;
        if let Some((pgno, _)) = self.pages.iter().find(|(_, p)| p.len() != size) {
            return Err(SegmentError::Malformed(format!(
                "page {pgno} is not {size} bytes"
            )));
        }
        if self.pages.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(SegmentError::Malformed(
                "pages are not ascending and distinct".into(),
            ));
        }
        let count = u32::try_from(self.pages.len())
            .map_err(|_| SegmentError::Malformed("too many pages".into()))?;
        let mut out = Vec::with_capacity(HEADER_BYTES + self.pages.len() * (4 + size) + 32);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes());
        out.extend_from_slice(&h.page_size.to_be_bytes());
        out.extend_from_slice(&h.database_id.to_bytes());
        out.extend_from_slice(&h.lineage.to_bytes());
        out.extend_from_slice(&h.sequence.to_be_bytes());
        out.extend_from_slice(&h.previous.to_be_bytes());
        out.extend_from_slice(&h.wal_checkpoint_seq.to_be_bytes());
        out.extend_from_slice(&h.wal_salts.0.to_be_bytes());
        out.extend_from_slice(&h.wal_salts.1.to_be_bytes());
        out.extend_from_slice(&h.wal_offset.to_be_bytes());
        out.extend_from_slice(&h.commit_size.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        out.extend_from_slice(&h.first_commit_ms.to_be_bytes());
        out.extend_from_slice(&h.last_commit_ms.to_be_bytes());
        out.extend_from_slice(&h.before.0);
        out.extend_from_slice(&h.after.0);
        debug_assert_eq!(out.len(), HEADER_BYTES);
        for (pgno, page) in &self.pages {
            out.extend_from_slice(&pgno.to_be_bytes());
            out.extend_from_slice(page);
        }
        let trailer: [u8; 32] = Sha256::digest(&out).into();
        out.extend_from_slice(&trailer);
        Ok(out)
    }

    /// Parses and checks uncompressed segment bytes.
    pub fn decode(bytes: &[u8]) -> Result<Segment, SegmentError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(SegmentError::NotASegment);
        }
        if bytes.len() < HEADER_BYTES + TRAILER_BYTES {
            return Err(SegmentError::Truncated);
        }
        let mut r = Fields(&bytes[MAGIC.len()..]);
        let version = u16::from_be_bytes(r.take());
        if version != VERSION {
            return Err(SegmentError::UnknownVersion(version));
        }
        let (body, trailer) = bytes.split_at(bytes.len() - TRAILER_BYTES);
        if Sha256::digest(body).as_slice() != trailer {
            return Err(SegmentError::Damaged);
        }
        let _reserved: [u8; 2] = r.take();
        let page_size = u32::from_be_bytes(r.take());
        let database_id = ulid::Ulid::from_bytes(r.take());
        let lineage = ulid::Ulid::from_bytes(r.take());
        let sequence = u64::from_be_bytes(r.take());
        let previous = u64::from_be_bytes(r.take());
        let wal_checkpoint_seq = u32::from_be_bytes(r.take());
        let wal_salts = (u32::from_be_bytes(r.take()), u32::from_be_bytes(r.take()));
        let wal_offset = u64::from_be_bytes(r.take());
        let commit_size = u32::from_be_bytes(r.take());
        let count = u32::from_be_bytes(r.take()) as usize;
        let header = SegmentHeader {
            page_size,
            database_id,
            lineage,
            sequence,
            previous,
            wal_checkpoint_seq,
            wal_salts,
            wal_offset,
            commit_size,
            first_commit_ms: i64::from_be_bytes(r.take()),
            last_commit_ms: i64::from_be_bytes(r.take()),
            before: DbChecksum(r.take()),
            after: DbChecksum(r.take()),
        };
        if !(512..=65_536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(SegmentError::Malformed(format!("page size {page_size}")));
        }
        let stride = 4 + page_size as usize;
        let pages_bytes = &body[HEADER_BYTES..];
        if pages_bytes.len() != count * stride {
            return Err(SegmentError::Malformed(format!(
                "{} bytes of pages for {count} pages of {page_size}",
                pages_bytes.len()
            )));
        }
        let pages: Vec<(u32, Vec<u8>)> = pages_bytes
            .chunks_exact(stride)
            .map(|c| {
                (
                    u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                    c[4..].to_vec(),
                )
            })
            .collect();
        if pages.windows(2).any(|w| w[0].0 >= w[1].0) || pages.first().is_some_and(|p| p.0 == 0) {
            return Err(SegmentError::Malformed(
                "pages are not ascending and distinct".into(),
            ));
        }
        Ok(Segment { header, pages })
    }
}

/// Reads fixed-size fields one after another from a slice long enough for
/// all of them (the caller checked the header's length).
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let (field, rest) = self.0.split_at(N);
        self.0 = rest;
        field.try_into().expect("split_at gave N bytes")
    }
}

/// Writes `segment` into `dir` under [`Segment::file_name`], durably: a
/// temporary file (mode 0600), fsync, a hard link to the final name
/// (which, unlike a rename, never replaces a segment already there), fsync
/// of `dir`.
pub fn write(dir: &Path, segment: &Segment) -> Result<PathBuf, SegmentError> {
    let bytes = segment.encode()?;
    let path = dir.join(segment.file_name());
    let temp = dir.join(format!(".{}.tmp", segment.file_name()));
    fsutil::remove_if_exists(&temp)?;
    let written = (|| {
        let mut gz = GzEncoder::new(fsutil::create_private_file(&temp)?, Compression::new(6));
        gz.write_all(&bytes)?;
        gz.finish()?.sync_all()?;
        std::fs::hard_link(&temp, &path)
    })();
    let removed = fsutil::remove_if_exists(&temp);
    written?;
    removed?;
    fsutil::sync_dir(dir)?;
    Ok(path)
}

/// Reads and checks the segment file at `path`.
pub fn read(path: &Path) -> Result<Segment, SegmentError> {
    let mut bytes = Vec::new();
    MultiGzDecoder::new(File::open(path)?)
        .read_to_end(&mut bytes)
        .map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => SegmentError::Truncated,
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => SegmentError::Damaged,
            _ => SegmentError::Io(e),
        })?;
    Segment::decode(&bytes)
}

#[cfg(test)]
mod tests;
