//! A tap's state kept across a stop of its process: the captured state
//! (lineage, sequence, WAL generation and position, every page's hash) in
//! one self-checking file, so that the next start goes on with the same
//! lineage instead of writing a new base. What happened while nobody held
//! the WAL is then found out as after any let-go ([`super::Tap::resume`]).
//!
//! The file: `NXTAPST1`, the fields below (big-endian), the page hashes,
//! and the SHA-256 of all of it.

use std::io::{self, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::capture::CaptureState;
use crate::fsutil;
use crate::segment::PageHashes;
use crate::wal::{Checksum, Position, WalHeader};

const MAGIC: &[u8; 8] = b"NXTAPST1";

/// What a stopped tap leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub state: CaptureState,
    pub header: Option<WalHeader>,
}

impl Saved {
    fn encode(&self) -> Vec<u8> {
        let s = &self.state;
        let mut out = Vec::with_capacity(128 + s.hashes.page_count() as usize * 36);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&s.database_id.to_bytes());
        out.extend_from_slice(&s.lineage.to_bytes());
        out.extend_from_slice(&s.sequence.to_be_bytes());
        out.extend_from_slice(&s.wal_checkpoint_seq.to_be_bytes());
        out.extend_from_slice(&s.wal_salts.0.to_be_bytes());
        out.extend_from_slice(&s.wal_salts.1.to_be_bytes());
        out.extend_from_slice(&s.position.offset.to_be_bytes());
        out.extend_from_slice(&s.position.checksum.0.to_be_bytes());
        out.extend_from_slice(&s.position.checksum.1.to_be_bytes());
        match &self.header {
            Some(h) => {
                out.push(1);
                out.extend_from_slice(&h.to_bytes());
            }
            None => {
                out.push(0);
                out.extend_from_slice(&[0u8; 32]);
            }
        }
        let entries: Vec<_> = s.hashes.entries().collect();
        out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for (pgno, hash) in entries {
            out.extend_from_slice(&pgno.to_be_bytes());
            out.extend_from_slice(hash);
        }
        let trailer: [u8; 32] = Sha256::digest(&out).into();
        out.extend_from_slice(&trailer);
        out
    }

    fn decode(bytes: &[u8]) -> Option<Saved> {
        let (body, trailer) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
        if Sha256::digest(body).as_slice() != trailer || !body.starts_with(MAGIC) {
            return None;
        }
        let mut r = &body[MAGIC.len()..];
        let mut take = |n: usize| -> Option<&[u8]> {
            let (field, rest) = r.split_at_checked(n)?;
            r = rest;
            Some(field)
        };
        let u32_ = |b: &[u8]| u32::from_be_bytes(b.try_into().expect("4 bytes"));
        let u64_ = |b: &[u8]| u64::from_be_bytes(b.try_into().expect("8 bytes"));
        let database_id = ulid::Ulid::from_bytes(take(16)?.try_into().ok()?);
        let lineage = ulid::Ulid::from_bytes(take(16)?.try_into().ok()?);
        let sequence = u64_(take(8)?);
        let wal_checkpoint_seq = u32_(take(4)?);
        let wal_salts = (u32_(take(4)?), u32_(take(4)?));
        let offset = u64_(take(8)?);
        let checksum = Checksum(u32_(take(4)?), u32_(take(4)?));
        let has_header = take(1)?[0] == 1;
        let header_bytes: [u8; 32] = take(32)?.try_into().ok()?;
        let header = if has_header {
            Some(WalHeader::parse(&header_bytes).ok()?)
        } else {
            None
        };
        let count = u32_(take(4)?) as usize;
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            let pgno = u32_(take(4)?);
            let hash: [u8; 32] = take(32)?.try_into().ok()?;
            entries.push((pgno, hash));
        }
        Some(Saved {
            state: CaptureState {
                database_id,
                lineage,
                sequence,
                wal_checkpoint_seq,
                wal_salts,
                position: Position { offset, checksum },
                hashes: PageHashes::from_entries(entries),
            },
            header,
        })
    }

    /// Writes the state to `path` durably (temp → fsync → rename → fsync).
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let temp = path.with_extension("tmp");
        let mut file = fsutil::create_private_file(&temp)?;
        file.write_all(&self.encode())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        fsutil::sync_dir(dir)
    }

    /// Reads a state file; `None` when it is missing or does not hold.
    pub fn read(path: &Path) -> Option<Saved> {
        Saved::decode(&std::fs::read(path).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_reads_back_as_written_and_a_flipped_byte_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let hashes = PageHashes::of_pages([(1, &[1u8; 64][..]), (2, &[2u8; 64][..])]);
        let saved = Saved {
            state: CaptureState {
                database_id: ulid::Ulid::generate(),
                lineage: ulid::Ulid::generate(),
                sequence: 42,
                wal_checkpoint_seq: 3,
                wal_salts: (7, 9),
                position: Position {
                    offset: 32 + 5 * 4120,
                    checksum: Checksum(11, 13),
                },
                hashes,
            },
            header: None,
        };
        let path = dir.path().join("tap-state.bin");
        saved.write(&path).unwrap();

        assert_eq!(Saved::read(&path), Some(saved));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[40] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(Saved::read(&path), None);
    }
}
