//! Reading the committed transactions of a SQLite WAL file, as the format
//! is documented (sqlite.org/fileformat2.html §4), without SQLite: the
//! ground the point-in-time capture (issue 18) stands on.
//!
//! A WAL file is a 32-byte header (magic, format version, page size,
//! checkpoint sequence, two salts, a checksum of the header) and frames: a
//! 24-byte frame header (page number, the database's size in pages after
//! the commit — non-zero only on a transaction's last frame —, the two
//! salts, a running checksum) and one page. A frame counts only when its
//! salts are the header's and the running checksum, carried from the
//! header through every frame before it, holds; a transaction counts only
//! up to its commit frame. The first frame that fails ends what is
//! committed: SQLite writes the WAL from the start again after a reset,
//! and what follows the last valid commit is old or torn.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Bytes of the WAL header.
pub const HEADER_BYTES: u64 = 32;
/// Bytes of a frame's header, before its page.
pub const FRAME_HEADER_BYTES: u64 = 24;
/// The magic of a WAL whose checksums read the content as little-endian
/// words; `| 1` is the big-endian one.
const MAGIC: u32 = 0x377f_0682;
/// The only WAL format version there is.
const VERSION: u32 = 3_007_000;

#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("cannot read the WAL: {0}")]
    Io(#[from] io::Error),
    #[error("not a WAL file (magic {0:#010x})")]
    NotAWal(u32),
    #[error("WAL format version {0}, not 3007000")]
    UnknownVersion(u32),
    #[error("the WAL header's checksum does not hold")]
    HeaderChecksum,
    #[error("the WAL names page size {0}, which SQLite cannot have")]
    PageSize(u32),
}

/// The running checksum: two 32-bit sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checksum(pub u32, pub u32);

impl Checksum {
    /// The sums carried over `data` (a multiple of 8 bytes), reading its
    /// words in the byte order the WAL's magic says.
    fn over(self, data: &[u8], big_endian: bool) -> Checksum {
        debug_assert_eq!(data.len() % 8, 0);
        let word = |b: &[u8]| {
            let b = [b[0], b[1], b[2], b[3]];
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let Checksum(mut s0, mut s1) = self;
        for pair in data.chunks_exact(8) {
            s0 = s0.wrapping_add(word(&pair[..4])).wrapping_add(s1);
            s1 = s1.wrapping_add(word(&pair[4..])).wrapping_add(s0);
        }
        Checksum(s0, s1)
    }
}

/// A WAL file's header: which generation of the WAL this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalHeader {
    pub page_size: u32,
    /// Incremented by SQLite each time it starts the WAL over.
    pub checkpoint_seq: u32,
    /// Chosen anew at each start over; every valid frame repeats them.
    pub salts: (u32, u32),
    big_endian: bool,
    checksum: Checksum,
}

impl WalHeader {
    /// Parses and checks the first 32 bytes of a WAL file.
    pub fn parse(bytes: &[u8; HEADER_BYTES as usize]) -> Result<WalHeader, WalError> {
        let field =
            |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let magic = field(0);
        if magic & !1 != MAGIC {
            return Err(WalError::NotAWal(magic));
        }
        if field(4) != VERSION {
            return Err(WalError::UnknownVersion(field(4)));
        }
        let big_endian = magic & 1 == 1;
        let checksum = Checksum(0, 0).over(&bytes[..24], big_endian);
        if checksum != Checksum(field(24), field(28)) {
            return Err(WalError::HeaderChecksum);
        }
        // SQLite writes 65,536 as 1 in the database header, but as itself here.
        let page_size = field(8);
        if !(512..=65_536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(WalError::PageSize(page_size));
        }
        Ok(WalHeader {
            page_size,
            checkpoint_seq: field(12),
            salts: (field(16), field(20)),
            big_endian,
            checksum,
        })
    }

    /// The 32 bytes this header was parsed from.
    pub fn to_bytes(&self) -> [u8; HEADER_BYTES as usize] {
        let mut bytes = [0u8; HEADER_BYTES as usize];
        let fields = [
            MAGIC | u32::from(self.big_endian),
            VERSION,
            self.page_size,
            self.checkpoint_seq,
            self.salts.0,
            self.salts.1,
            self.checksum.0,
            self.checksum.1,
        ];
        for (i, field) in fields.iter().enumerate() {
            bytes[i * 4..i * 4 + 4].copy_from_slice(&field.to_be_bytes());
        }
        bytes
    }

    /// Where the first frame starts, with the checksum it carries on from.
    pub fn start(&self) -> Position {
        Position {
            offset: HEADER_BYTES,
            checksum: self.checksum,
        }
    }

    fn frame_bytes(&self) -> u64 {
        FRAME_HEADER_BYTES + u64::from(self.page_size)
    }
}

/// A place in the WAL just after a commit frame (or its header): where to
/// go on reading, and the running checksum there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub offset: u64,
    pub checksum: Checksum,
}

/// One page written by a committed transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramePage {
    pub pgno: u32,
    /// Where the page's bytes start in the WAL file.
    pub offset: u64,
}

/// One committed transaction: its frames in the order written (a page
/// may appear more than once; the last one counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub pages: Vec<FramePage>,
    /// The database's size in pages once it is applied.
    pub commit_size: u32,
    /// Just after its commit frame.
    pub end: Position,
}

/// A WAL file opened for reading its committed transactions.
pub struct WalFile {
    file: File,
    header: WalHeader,
}

impl WalFile {
    /// Opens `file` and reads its header. A file shorter than a header is
    /// `Ok(None)`: SQLite has not started this WAL (or has truncated it).
    pub fn open(file: File) -> Result<Option<WalFile>, WalError> {
        let mut bytes = [0u8; HEADER_BYTES as usize];
        match file.read_exact_at(&mut bytes, 0) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let header = WalHeader::parse(&bytes)?;
        Ok(Some(WalFile { file, header }))
    }

    /// Reads `file` as the generation `header` names, whatever header the
    /// file now starts with: frames of an earlier generation that a new
    /// one has not yet overwritten are still there to read.
    pub fn of_generation(file: File, header: WalHeader) -> WalFile {
        WalFile { file, header }
    }

    pub fn header(&self) -> &WalHeader {
        &self.header
    }

    /// Where the valid frames of this generation end, committed or not,
    /// read on from `from`: a new generation has written up to here.
    pub fn frames_end(&self, from: Position) -> Result<u64, WalError> {
        let header = &self.header;
        let mut frame = vec![0u8; header.frame_bytes() as usize];
        let (mut offset, mut checksum) = (from.offset, from.checksum);
        loop {
            match self.file.read_exact_at(&mut frame, offset) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(offset),
                Err(e) => return Err(e.into()),
            }
            let field =
                |i: usize| u32::from_be_bytes([frame[i], frame[i + 1], frame[i + 2], frame[i + 3]]);
            let carried = checksum
                .over(&frame[..8], header.big_endian)
                .over(&frame[FRAME_HEADER_BYTES as usize..], header.big_endian);
            if (field(8), field(12)) != header.salts || carried != Checksum(field(16), field(20)) {
                return Ok(offset);
            }
            checksum = carried;
            offset += header.frame_bytes();
        }
    }

    /// Whether a frame of this generation seems to start at `position`
    /// (its salts match; the caller reads it whole to know).
    pub fn frame_at(&self, position: Position) -> Result<bool, WalError> {
        let mut head = [0u8; FRAME_HEADER_BYTES as usize];
        match self.file.read_exact_at(&mut head, position.offset) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        let field = |i: usize| u32::from_be_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        Ok((field(8), field(12)) == self.header.salts)
    }

    /// Whether the frame that ends at `position` (a position after a
    /// commit of this generation, past its header) is still in the file,
    /// unchanged: the file was not truncated or overwritten up to there.
    pub fn intact_before(&self, position: Position) -> Result<bool, WalError> {
        let header = &self.header;
        if position.offset < HEADER_BYTES + header.frame_bytes() {
            return Ok(false);
        }
        let mut head = [0u8; FRAME_HEADER_BYTES as usize];
        match self
            .file
            .read_exact_at(&mut head, position.offset - header.frame_bytes())
        {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        let field = |i: usize| u32::from_be_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        Ok((field(8), field(12)) == header.salts
            && Checksum(field(16), field(20)) == position.checksum)
    }

    /// The place just after frame `frame` (1-based) of this generation,
    /// if that frame is there, holds and commits a transaction leaving
    /// `pages` pages with running checksum `checksum`.
    pub fn commit_at(
        &self,
        frame: u32,
        pages: u32,
        checksum: Checksum,
    ) -> Result<Option<Position>, WalError> {
        let header = &self.header;
        if frame == 0 {
            return Ok(Some(header.start()));
        }
        let offset = HEADER_BYTES + u64::from(frame - 1) * header.frame_bytes();
        let mut head = [0u8; FRAME_HEADER_BYTES as usize];
        match self.file.read_exact_at(&mut head, offset) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let field = |i: usize| u32::from_be_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        let holds = (field(8), field(12)) == header.salts
            && field(4) == pages
            && Checksum(field(16), field(20)) == checksum;
        Ok(holds.then_some(Position {
            offset: offset + header.frame_bytes(),
            checksum,
        }))
    }

    /// The file's length now.
    pub fn file_len(&self) -> Result<u64, WalError> {
        Ok(self.file.metadata()?.len())
    }

    /// The transactions committed after `from` (a position of this
    /// header's generation), in order, up to the last frame that holds.
    pub fn committed_after(&self, from: Position) -> Result<Vec<Transaction>, WalError> {
        let header = &self.header;
        let mut frame = vec![0u8; header.frame_bytes() as usize];
        let (mut offset, mut checksum) = (from.offset, from.checksum);
        let (mut pending, mut done) = (Vec::new(), Vec::new());
        loop {
            match self.file.read_exact_at(&mut frame, offset) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e.into()),
            }
            let field =
                |i: usize| u32::from_be_bytes([frame[i], frame[i + 1], frame[i + 2], frame[i + 3]]);
            if (field(8), field(12)) != header.salts {
                break;
            }
            let carried = checksum
                .over(&frame[..8], header.big_endian)
                .over(&frame[FRAME_HEADER_BYTES as usize..], header.big_endian);
            if carried != Checksum(field(16), field(20)) || field(0) == 0 {
                break;
            }
            checksum = carried;
            pending.push(FramePage {
                pgno: field(0),
                offset: offset + FRAME_HEADER_BYTES,
            });
            offset += header.frame_bytes();
            let commit_size = field(4);
            if commit_size > 0 {
                done.push(Transaction {
                    pages: std::mem::take(&mut pending),
                    commit_size,
                    end: Position { offset, checksum },
                });
            }
        }
        Ok(done)
    }

    /// The bytes of the page a frame holds.
    pub fn page(&self, frame: &FramePage) -> Result<Vec<u8>, WalError> {
        let mut page = vec![0u8; self.header.page_size as usize];
        self.file.read_exact_at(&mut page, frame.offset)?;
        Ok(page)
    }
}

#[cfg(test)]
mod tests;
