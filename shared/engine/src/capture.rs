//! One step of point-in-time capture (issue 18): what the WAL committed
//! since the last capture, as the next [`Segment`] of the chain, or the
//! sign that the chain broke. Pure over a [`WalFile`] and the state the
//! last capture left; the replicator that calls it every interval (its
//! read transaction, its checkpoints, its lease) is not built yet.

use std::collections::BTreeMap;

use crate::segment::{PageHashes, Segment, SegmentHeader};
use crate::wal::{Position, WalError, WalFile};

/// What the last capture left: which WAL generation it read, how far, and
/// the database as captured so far (the hash of every page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureState {
    pub database_id: ulid::Ulid,
    pub lineage: ulid::Ulid,
    /// The sequence of the last segment written; 0 before the first.
    pub sequence: u64,
    pub wal_checkpoint_seq: u32,
    pub wal_salts: (u32, u32),
    pub position: Position,
    pub hashes: PageHashes,
}

/// What one capture found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capture {
    /// No transaction committed since the last capture.
    Nothing,
    /// The next segment; the state has moved past it.
    Segment(Segment),
    /// The WAL is not the one the state read on from: it was started over
    /// (a checkpoint by someone, a reset) or cut, so transactions may have
    /// gone into the database without passing here. The state is left as
    /// it was: the caller repairs the chain from the database itself.
    Broken(String),
    /// More distinct pages than the caller allows one segment in memory
    /// (a restore, a VACUUM): the state is left as it was, and the caller
    /// starts a new lineage, whose base it streams.
    Oversized { pages: usize },
}

impl CaptureState {
    /// The state after a full base of the database: its page hashes, and
    /// the WAL generation and position the base is consistent with.
    pub fn after_base(
        database_id: ulid::Ulid,
        lineage: ulid::Ulid,
        wal: &WalFile,
        position: Position,
        hashes: PageHashes,
    ) -> CaptureState {
        CaptureState {
            database_id,
            lineage,
            sequence: 0,
            wal_checkpoint_seq: wal.header().checkpoint_seq,
            wal_salts: wal.header().salts,
            position,
            hashes,
        }
    }

    /// Reads what `wal` committed after the state's position. A segment
    /// takes the last version of each page its transactions wrote, none
    /// past the database's new size; `now_ms` stamps its capture.
    pub fn capture(&mut self, wal: &WalFile, now_ms: i64) -> Result<Capture, WalError> {
        self.capture_bounded(wal, now_ms, usize::MAX)
    }

    /// [`CaptureState::capture`], refusing a segment of more than
    /// `max_pages` pages.
    pub fn capture_bounded(
        &mut self,
        wal: &WalFile,
        now_ms: i64,
        max_pages: usize,
    ) -> Result<Capture, WalError> {
        let header = wal.header();
        if header.salts != self.wal_salts || header.checkpoint_seq != self.wal_checkpoint_seq {
            return Ok(Capture::Broken(format!(
                "the WAL was started over (checkpoint sequence {} → {})",
                self.wal_checkpoint_seq, header.checkpoint_seq
            )));
        }
        if wal.file_len()? < self.position.offset {
            return Ok(Capture::Broken(format!(
                "the WAL is shorter than the {} bytes already captured",
                self.position.offset
            )));
        }
        let transactions = wal.committed_after(self.position)?;
        let Some(last) = transactions.last() else {
            return Ok(Capture::Nothing);
        };
        let mut latest = BTreeMap::new();
        for frame in transactions.iter().flat_map(|t| &t.pages) {
            latest.insert(frame.pgno, *frame);
        }
        let kept = latest.range(..=last.commit_size).count();
        if kept > max_pages {
            return Ok(Capture::Oversized { pages: kept });
        }
        let mut pages = Vec::with_capacity(kept);
        for (pgno, frame) in latest.range(..=last.commit_size) {
            pages.push((*pgno, wal.page(frame)?));
        }
        let before = self.hashes.checksum();
        self.hashes.apply(
            pages.iter().map(|(n, p)| (*n, p.as_slice())),
            Some(last.commit_size),
        );
        self.sequence += 1;
        let segment = Segment {
            header: SegmentHeader {
                page_size: header.page_size,
                database_id: self.database_id,
                lineage: self.lineage,
                sequence: self.sequence,
                previous: self.sequence - 1,
                wal_checkpoint_seq: header.checkpoint_seq,
                wal_salts: header.salts,
                wal_offset: last.end.offset,
                commit_size: last.commit_size,
                first_commit_ms: now_ms,
                last_commit_ms: now_ms,
                before,
                after: self.hashes.checksum(),
            },
            pages,
        };
        self.position = last.end;
        Ok(Capture::Segment(segment))
    }
}

#[cfg(test)]
mod tests;
