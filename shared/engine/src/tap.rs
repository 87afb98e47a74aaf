//! A tap on a live WAL database (issue 18): what the replicator runs each
//! interval. It turns the transactions the application commits into the
//! [`Segment`]s of a chain, checkpoints the WAL itself (PASSIVE only, after
//! the frames are captured) and notices when frames went by without it,
//! repairing the chain from the database. Files and SQLite only: where
//! segments are written, the lease and the timing are the caller's.
//!
//! How no committed frame is missed:
//! - a read transaction is held on the database (two connections take
//!   turns, so one always holds while the other moves on), pinned with
//!   `sqlite3_snapshot_get` so it is never on read-mark 0. While it lasts,
//!   no checkpoint copies frames past its mark and no writer starts the WAL
//!   over: every frame stays in the WAL file until captured;
//! - a WAL that is never started over grows without end, so once
//!   `checkpoint_frames` frames of a generation are captured, the tap lets
//!   go and runs a PASSIVE checkpoint, which then copies every frame into
//!   the database file. The application's next writer may start the WAL
//!   over (a new generation: new salts). When the tap next holds (its
//!   caller looks every few milliseconds while it does not) and finds a new
//!   generation, it reads what the old one committed after its position
//!   from the file, where the old frames stay until the new generation's
//!   frames reach them, and goes on;
//! - when that cannot be shown (the new generation has reached the old
//!   position, more than one start-over, a truncated WAL, a tap started
//!   afresh on a state from before), the tap reads every page of the
//!   database through its snapshot and writes the pages that differ from
//!   the captured state as one repair segment: no committed change is
//!   lost, only the instants between are not told apart.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::capture::{Capture, CaptureState};
use crate::pinned::{self, Held};
use crate::segment::{PageHashes, Segment, SegmentHeader};
use crate::wal::{Checksum, Position, WalError, WalFile, WalHeader};

/// Attempts at a hold whose mark agrees with the WAL file.
const HOLD_ATTEMPTS: u32 = 50;
/// The most one segment holds in memory, in bytes of pages.
pub const MAX_SEGMENT_BYTES: usize = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum TapError {
    #[error("the database is not in WAL mode (journal mode {0})")]
    NotWal(String),
    #[error("{context}: {source}")]
    Sqlite {
        context: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Wal(#[from] WalError),
    #[error("cannot read the database files: {0}")]
    Io(#[from] io::Error),
    #[error("the WAL kept changing under every attempt to hold it")]
    Unsettled,
    #[error(
        "{pages} pages changed at once, more than one segment holds ({max_pages}): a new lineage \
         starts from a new base"
    )]
    Oversized { pages: usize, max_pages: usize },
}

fn sqlite(context: &'static str) -> impl Fn(rusqlite::Error) -> TapError {
    move |source| TapError::Sqlite { context, source }
}

/// What one [`Tap::step`] found.
#[derive(Debug)]
pub enum Step {
    /// Nothing committed since the last step.
    Nothing,
    /// The next segments of the chain, in order.
    Segments(Vec<Segment>),
}

/// What [`Tap::look`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    Unchanged,
    /// Frames after the last capture, in the same generation.
    Appended,
    /// The WAL was started over (or truncated) since.
    NewGeneration,
}

/// Counters of what the tap did, for the log and the tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub checkpoints: u64,
    /// Times the tap let go of the WAL so that it could start over.
    pub releases: u64,
    /// New generations of the WAL followed without a repair.
    pub generations: u64,
    pub repairs: u64,
}

/// The database as the tap first read it, page by page.
pub struct Base {
    pub pages: u32,
    pub page_size: u32,
    pub hashes: PageHashes,
}

pub struct Tap {
    live: PathBuf,
    wal_path: PathBuf,
    holders: [Connection; 2],
    /// The holder in a read transaction, if any.
    holding: Option<usize>,
    checkpointer: Connection,
    /// The generation the state reads; `None` while the WAL file is empty
    /// (truncated, or not begun).
    header: Option<WalHeader>,
    /// With no header: the salts the next one must have, when known.
    awaiting: Option<(u32, u32)>,
    state: CaptureState,
    /// Frames in the WAL from which a step checkpoints.
    checkpoint_frames: u64,
    /// Bytes of pages one segment may hold.
    max_segment_bytes: usize,
    counts: Counts,
}

/// Where a fresh hold stands.
struct Mark {
    header: Option<WalHeader>,
    position: Position,
    pages: u32,
    /// With no header: the salts the WAL's next header will have, when
    /// SQLite already chose them (the file may still show an older one).
    awaiting: Option<(u32, u32)>,
}

/// The position in an empty WAL file: its header is not written yet.
const NO_POSITION: Position = Position {
    offset: 0,
    checksum: Checksum(0, 0),
};

impl Tap {
    /// Opens a tap on `live` and reads the database once through its
    /// snapshot: `page` gets every page in order (the base of a new
    /// lineage), and the state starts there.
    pub fn open(
        live: &Path,
        database_id: ulid::Ulid,
        lineage: ulid::Ulid,
        checkpoint_frames: u64,
        page: &mut dyn FnMut(u32, &[u8]) -> io::Result<()>,
    ) -> Result<(Tap, Base), TapError> {
        let (holders, checkpointer) = connections(live)?;
        let mut wal_path = live.as_os_str().to_owned();
        wal_path.push("-wal");
        let mut tap = Tap {
            live: live.to_path_buf(),
            wal_path: PathBuf::from(wal_path),
            holders,
            holding: None,
            checkpointer,
            header: None,
            awaiting: None,
            state: CaptureState {
                database_id,
                lineage,
                sequence: 0,
                wal_checkpoint_seq: 0,
                wal_salts: (0, 0),
                position: NO_POSITION,
                hashes: PageHashes::default(),
            },
            checkpoint_frames,
            max_segment_bytes: MAX_SEGMENT_BYTES,
            counts: Counts::default(),
        };
        let mark = tap.hold()?;
        let mut hashes = PageHashes::default();
        let page_size = tap.each_page(mark.pages, &mut |pgno, data| {
            hashes.apply([(pgno, data)], None);
            page(pgno, data)
        })?;
        tap.settle(&mark, hashes.clone());
        Ok((
            tap,
            Base {
                pages: mark.pages,
                page_size,
                hashes,
            },
        ))
    }

    /// Opens a tap that goes on from what a stopped one saved
    /// ([`Tap::save`]): it holds nothing yet, so its first step finds out,
    /// as after any let-go, what the WAL committed meanwhile (or repairs
    /// from the database when that cannot be shown).
    pub fn resume(live: &Path, saved: Saved, checkpoint_frames: u64) -> Result<Tap, TapError> {
        let (holders, checkpointer) = connections(live)?;
        let mut wal_path = live.as_os_str().to_owned();
        wal_path.push("-wal");
        Ok(Tap {
            live: live.to_path_buf(),
            wal_path: PathBuf::from(wal_path),
            holders,
            holding: None,
            checkpointer,
            header: saved.header,
            awaiting: None,
            state: saved.state,
            checkpoint_frames,
            max_segment_bytes: MAX_SEGMENT_BYTES,
            counts: Counts::default(),
        })
    }

    /// What [`Tap::resume`] needs to go on after this tap stops.
    pub fn save(&self) -> Saved {
        Saved {
            state: self.state.clone(),
            header: self.header,
        }
    }

    pub fn state(&self) -> &CaptureState {
        &self.state
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }

    pub fn live(&self) -> &Path {
        &self.live
    }

    /// Bounds the bytes of pages one segment holds (default
    /// [`MAX_SEGMENT_BYTES`]); a step over it fails with
    /// [`TapError::Oversized`] and the caller starts a new lineage.
    pub fn with_segment_limit(mut self, bytes: usize) -> Tap {
        self.max_segment_bytes = bytes;
        self
    }

    fn max_pages(&self) -> usize {
        let page = self.header.map_or(4096, |h| h.page_size as usize);
        (self.max_segment_bytes / page).max(1)
    }

    fn oversized(&self, pages: usize) -> TapError {
        TapError::Oversized {
            pages,
            max_pages: self.max_pages(),
        }
    }

    /// Captures what was committed since the last step, checkpointing
    /// when the WAL has grown past the threshold. `now_ms` stamps the
    /// segments.
    pub fn step(&mut self, now_ms: i64) -> Result<Step, TapError> {
        let mut segments = Vec::new();
        if self.holding.is_none() {
            if !self.wal_changed()? {
                return Ok(Step::Nothing);
            }
            let mark = self.hold()?;
            if !self.same_generation(mark.header.as_ref()) {
                segments.extend(self.follow(mark, now_ms)?);
            } else if mark.header.is_none() {
                self.awaiting = mark.awaiting;
            }
        }
        segments.extend(self.capture(now_ms)?);
        // The mark moves on, so checkpoints can copy what was captured.
        self.hold()?;
        segments.extend(self.capture(now_ms)?);
        if self.captured_frames() >= self.checkpoint_frames {
            self.checkpoint()?;
        }
        Ok(if segments.is_empty() {
            Step::Nothing
        } else {
            Step::Segments(segments)
        })
    }

    /// The transactions committed after the state's position in its own
    /// generation (the caller holds, so it is still the WAL's).
    fn capture(&mut self, now_ms: i64) -> Result<Vec<Segment>, TapError> {
        let Some(file) = self.wal_file()? else {
            return Ok(Vec::new());
        };
        let header = match self.header {
            Some(header) => header,
            // The WAL was empty (or started over, not yet written) and has
            // been held since: its next generation is all new.
            None => match WalFile::open(file.try_clone()?)? {
                Some(wal)
                    if self
                        .awaiting
                        .is_none_or(|salts| salts == wal.header().salts) =>
                {
                    let header = *wal.header();
                    self.adopt(header);
                    header
                }
                _ => return Ok(Vec::new()),
            },
        };
        let wal = WalFile::of_generation(file, header);
        match self.state.capture_bounded(&wal, now_ms, self.max_pages())? {
            Capture::Nothing => Ok(Vec::new()),
            Capture::Segment(segment) => Ok(vec![segment]),
            Capture::Oversized { pages } => Err(self.oversized(pages)),
            Capture::Broken(why) => {
                // Cannot happen while held; if it does, the database tells.
                tracing::warn!(%why, "the WAL changed while held: repairing the chain");
                let mark = self.hold()?;
                Ok(self.repair(&mark, now_ms)?.into_iter().collect())
            }
        }
    }

    /// Lets go of the WAL, then runs a PASSIVE checkpoint: with nobody
    /// holding it, the checkpoint copies every frame the application's own
    /// readers allow into the database file, and the application's next
    /// writer may start the WAL over, which keeps the WAL small. Frames
    /// committed after the last capture stay in the old generation's file
    /// until the new generation's frames reach them: the next step reads
    /// them there ([`Tap::follow`]), or repairs from the database.
    fn checkpoint(&mut self) -> Result<(), TapError> {
        // Only with a frame captured in this generation: the old frame
        // before the position is what shows, later, that the WAL was
        // started over and not truncated under what was not yet read.
        if self.captured_frames() == 0 {
            return Ok(());
        }
        self.let_go()?;
        self.counts.releases += 1;
        self.checkpointer
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(sqlite("cannot checkpoint the WAL"))?;
        self.counts.checkpoints += 1;
        Ok(())
    }

    /// Whether the tap holds the WAL now. While it does not, the caller
    /// should [`Tap::look`] often (every few milliseconds) and step at once
    /// on a new generation: the sooner it is seen, the more of the old one
    /// is left to read. Frames merely appended are safe until then.
    pub fn holding(&self) -> bool {
        self.holding.is_some()
    }

    /// A new generation of the WAL since the state's: reads what the old
    /// one committed after the state's position when that can be shown to
    /// be whole, else repairs from the database.
    fn follow(&mut self, mark: Mark, now_ms: i64) -> Result<Vec<Segment>, TapError> {
        let mut segments = Vec::new();
        if let (Some(old), Some(new)) = (self.header, mark.header)
            && new.checkpoint_seq == old.checkpoint_seq.wrapping_add(1)
            && new.salts.0 == old.salts.0.wrapping_add(1)
            && let Some(file) = self.wal_file()?
        {
            let from = self.state.position;
            let new_gen = WalFile::of_generation(file.try_clone()?, new);
            let old_gen = WalFile::of_generation(file, old);
            let tail = self
                .state
                .capture_bounded(&old_gen, now_ms, self.max_pages())?;
            if let Capture::Oversized { pages } = tail {
                return Err(self.oversized(pages));
            }
            // Checked after the tail was read: the new generation only
            // grows, and writes a slot only after every slot before it; the
            // old frame just before the position, still there, shows that
            // the file was not truncated (a TRUNCATE checkpoint) meanwhile.
            let reached = new_gen.frames_end(new.start())?;
            let intact = old_gen.intact_before(from)?;
            let broken = matches!(tail, Capture::Broken(_));
            if let Capture::Segment(s) = tail {
                segments.push(s);
            }
            if !broken && intact && reached + old.page_size as u64 + 24 <= from.offset {
                self.adopt(new);
                self.counts.generations += 1;
                return Ok(segments);
            }
        }
        segments.extend(self.repair(&mark, now_ms)?);
        Ok(segments)
    }

    /// The state reads on from the start of generation `header`.
    fn adopt(&mut self, header: WalHeader) {
        self.header = Some(header);
        self.awaiting = None;
        self.state.wal_checkpoint_seq = header.checkpoint_seq;
        self.state.wal_salts = header.salts;
        self.state.position = header.start();
    }

    /// Reads every page of the held snapshot and writes those that differ
    /// from the captured state as one segment; the state moves to `mark`.
    fn repair(&mut self, mark: &Mark, now_ms: i64) -> Result<Option<Segment>, TapError> {
        self.counts.repairs += 1;
        let mut changed = Vec::new();
        let mut hashes = self.state.hashes.clone();
        let max_pages = self.max_pages();
        let mut oversized = false;
        let read = self.each_page(mark.pages, &mut |pgno, data| {
            if !hashes.unchanged(pgno, data) {
                if changed.len() == max_pages {
                    oversized = true;
                    return Err(io::Error::other("the repair segment is over its limit"));
                }
                changed.push((pgno, data.to_vec()));
            }
            Ok(())
        });
        if oversized {
            return Err(self.oversized(max_pages + 1));
        }
        let page_size = read?;
        let before = self.state.hashes.checksum();
        hashes.apply(
            changed.iter().map(|(n, p)| (*n, p.as_slice())),
            Some(mark.pages),
        );
        self.settle(mark, hashes);
        if self.state.hashes.checksum() == before {
            return Ok(None);
        }
        self.state.sequence += 1;
        Ok(Some(Segment {
            header: SegmentHeader {
                page_size,
                database_id: self.state.database_id,
                lineage: self.state.lineage,
                sequence: self.state.sequence,
                previous: self.state.sequence - 1,
                wal_checkpoint_seq: self.state.wal_checkpoint_seq,
                wal_salts: self.state.wal_salts,
                wal_offset: mark.position.offset,
                commit_size: mark.pages,
                first_commit_ms: now_ms,
                last_commit_ms: now_ms,
                before,
                after: self.state.hashes.checksum(),
            },
            pages: changed,
        }))
    }

    /// The state now reads on from `mark`, with `hashes` as the database.
    fn settle(&mut self, mark: &Mark, hashes: PageHashes) {
        self.header = mark.header;
        self.awaiting = mark.awaiting;
        if let Some(header) = mark.header {
            self.state.wal_checkpoint_seq = header.checkpoint_seq;
            self.state.wal_salts = header.salts;
        }
        self.state.position = mark.position;
        self.state.hashes = hashes;
    }

    fn same_generation(&self, header: Option<&WalHeader>) -> bool {
        match (header, self.header.as_ref()) {
            (Some(a), Some(b)) => a.salts == b.salts && a.checkpoint_seq == b.checkpoint_seq,
            (None, None) => true,
            _ => false,
        }
    }

    /// Starts a read transaction on the holder that is not holding, then
    /// ends the other's: one always holds. Returns where it stands,
    /// checked against the WAL file.
    fn hold(&mut self) -> Result<Mark, TapError> {
        let next = self.holding.map_or(0, |h| 1 - h);
        for _ in 0..HOLD_ATTEMPTS {
            let conn = &self.holders[next];
            let held = pinned::hold(conn).map_err(sqlite("cannot hold the WAL"))?;
            if let Some(mark) = self.mark(conn, held)? {
                if let Some(previous) = self.holding.replace(next) {
                    pinned::release(&self.holders[previous])
                        .map_err(sqlite("cannot end a read transaction"))?;
                }
                return Ok(mark);
            }
            pinned::release(conn).map_err(sqlite("cannot end a read transaction"))?;
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        Err(TapError::Unsettled)
    }

    /// Where `held` (on `conn`) stands in the WAL file, if the file
    /// agrees with it.
    fn mark(&self, conn: &Connection, held: Held) -> Result<Option<Mark>, TapError> {
        let wal = match self.wal_file()? {
            Some(file) => WalFile::open(file)?,
            None => None,
        };
        let Some(wal) = wal else {
            // An empty WAL: the database file is all there is.
            return Ok(Some(Mark {
                header: None,
                position: NO_POSITION,
                pages: database_pages(conn)?,
                awaiting: None,
            }));
        };
        let header = *wal.header();
        match held {
            Held::Snapshot(m) if m.salts == header.salts => {
                let checksum = Checksum(m.frame_checksum.0, m.frame_checksum.1);
                let pages = if m.max_frame == 0 {
                    database_pages(conn)?
                } else {
                    m.pages
                };
                Ok(wal
                    .commit_at(m.max_frame, m.pages, checksum)?
                    .map(|position| Mark {
                        header: Some(header),
                        position,
                        pages,
                        awaiting: None,
                    }))
            }
            // Started over (a RESTART checkpoint, say) and not written
            // since: the file still has the old header, and the snapshot
            // reads the database file alone.
            Held::Snapshot(m) if m.max_frame == 0 => Ok(Some(Mark {
                header: None,
                position: NO_POSITION,
                pages: database_pages(conn)?,
                awaiting: Some(m.salts),
            })),
            Held::Snapshot(_) => Ok(None),
            // No frame in this generation: the database file is all.
            Held::WalUnwritten => Ok(Some(Mark {
                header: Some(header),
                position: header.start(),
                pages: database_pages(conn)?,
                awaiting: None,
            })),
        }
    }

    /// Ends the read transaction held, if any.
    fn let_go(&mut self) -> Result<(), TapError> {
        if let Some(h) = self.holding.take() {
            pinned::release(&self.holders[h]).map_err(sqlite("cannot end a read transaction"))?;
        }
        Ok(())
    }

    fn wal_changed(&self) -> Result<bool, TapError> {
        Ok(self.look()? != Look::Unchanged)
    }

    /// What the WAL file shows since the last step (a few small reads).
    pub fn look(&self) -> Result<Look, TapError> {
        let wal = match self.wal_file()? {
            Some(file) => WalFile::open(file)?,
            None => None,
        };
        if !self.same_generation(wal.as_ref().map(WalFile::header)) {
            return Ok(Look::NewGeneration);
        }
        match wal {
            Some(wal) if wal.frame_at(self.state.position)? => Ok(Look::Appended),
            _ => Ok(Look::Unchanged),
        }
    }

    /// While the tap holds nothing: a PASSIVE checkpoint, so that the
    /// frames committed since it let go are copied too and the next writer
    /// can start the WAL over (under a steady stream of commits a single
    /// checkpoint is always a few frames short).
    pub fn nudge(&mut self) -> Result<(), TapError> {
        if self.holding.is_none() {
            self.checkpointer
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                .map_err(sqlite("cannot checkpoint the WAL"))?;
            self.counts.checkpoints += 1;
        }
        Ok(())
    }

    /// Frames of the current generation captured so far.
    fn captured_frames(&self) -> u64 {
        self.header.map_or(0, |h| {
            self.state.position.offset.saturating_sub(h.start().offset)
                / (24 + u64::from(h.page_size))
        })
    }

    fn wal_file(&self) -> Result<Option<File>, TapError> {
        match File::open(&self.wal_path) {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn holding_conn(&self) -> &Connection {
        &self.holders[self.holding.unwrap_or(0)]
    }

    /// Every page of the held snapshot, in order, up to `pages`; returns
    /// the page size.
    fn each_page(
        &self,
        pages: u32,
        page: &mut dyn FnMut(u32, &[u8]) -> io::Result<()>,
    ) -> Result<u32, TapError> {
        let conn = self.holding_conn();
        let mut stmt = conn
            .prepare("SELECT pgno, data FROM sqlite_dbpage('main') WHERE pgno <= ?1 ORDER BY pgno")
            .map_err(sqlite("cannot read the database's pages"))?;
        let mut rows = stmt
            .query([pages])
            .map_err(sqlite("cannot read the database's pages"))?;
        let mut page_size = 0;
        while let Some(row) = rows
            .next()
            .map_err(sqlite("cannot read the database's pages"))?
        {
            let pgno: u32 = row.get(0).map_err(sqlite("cannot read a page number"))?;
            let data = row
                .get_ref(1)
                .and_then(|v| Ok(v.as_blob()?))
                .map_err(sqlite("cannot read a page"))?;
            page_size = data.len() as u32;
            page(pgno, data)?;
        }
        Ok(page_size)
    }
}

/// The two holders and the checkpoint connection, once the database is
/// known to be in WAL mode.
fn connections(live: &Path) -> Result<([Connection; 2], Connection), TapError> {
    let open = || open_live(live);
    let holders = [open()?, open()?];
    let journal_mode: String = holders[0]
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(sqlite("cannot read the journal mode"))?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Err(TapError::NotWal(journal_mode));
    }
    let checkpointer = open()?;
    checkpointer
        .busy_timeout(std::time::Duration::ZERO)
        .map_err(sqlite("cannot configure the checkpoint connection"))?;
    Ok((holders, checkpointer))
}

fn open_live(live: &Path) -> Result<Connection, TapError> {
    let conn = Connection::open_with_flags(
        live,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite("cannot open the database"))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(sqlite("cannot configure the database connection"))?;
    // The connection must have read the file to know it is in WAL mode
    // before a snapshot can be taken.
    conn.query_row("PRAGMA application_id", [], |r| r.get::<_, i64>(0))
        .map_err(sqlite("cannot read the database"))?;
    Ok(conn)
}

/// The database's size in pages as `conn`'s read transaction sees it.
fn database_pages(conn: &Connection) -> Result<u32, TapError> {
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .map_err(sqlite("cannot read the page count"))?;
    Ok(u32::try_from(pages).unwrap_or(0))
}

mod saved;
pub use saved::Saved;

#[cfg(test)]
mod tests;
