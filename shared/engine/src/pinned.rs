//! One snapshot of a live WAL database, pinned and open on two connections
//! at once: the backup streams its pages from one while `PRAGMA
//! integrity_check` reads the very same snapshot on the other, so the check
//! no longer waits for a copy to exist (docs/performance.md).
//!
//! rusqlite has no wrapper for SQLite's snapshot API, so this module makes
//! the three FFI calls itself (`sqlite3_snapshot_get`, `_open`, `_free`;
//! the bundled SQLite is built with `SQLITE_ENABLE_SNAPSHOT`, see
//! `.cargo/config.toml`). It is the only module of the workspace allowed
//! `unsafe` code (shared/tests/layers.rs checks that), and it hands out
//! only safe values: two [`Connection`]s, each inside a read transaction.
//!
//! How the two views are made equal:
//! - the reader opens a read transaction and takes `sqlite3_snapshot_get`;
//!   SQLite then avoids read-mark 0, so the WAL frames of that snapshot
//!   stay in place until the reader ends, whatever checkpoints run;
//!   the checker opens exactly that snapshot with `sqlite3_snapshot_open`;
//! - a WAL nobody has written to since it was created gives no snapshot
//!   (`SQLITE_ERROR`). Then both connections read the database file alone,
//!   and the reader's read-mark 0 keeps any checkpoint from writing into
//!   it: when the checker finds no written WAL either, both see the same
//!   bytes. If a commit came in between, both start again;
//! - a snapshot overwritten before the checker opened it
//!   (`SQLITE_ERROR_SNAPSHOT`), or a busy WAL, is tried again a few times;
//!   after that, and for a database not in WAL mode, the caller takes the
//!   copy path ([`Pinning::Unavailable`], [`Pinning::NotWal`]).
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ffi};

use crate::EngineError;
use crate::snapshot::{open_source, reading_source};

/// Attempts at pinning before the caller falls back to the copy path.
const ATTEMPTS: u32 = 20;
/// Pause between two attempts: long enough for a commit to land.
const PAUSE: Duration = Duration::from_millis(25);

const MAIN: &CStr = c"main";

/// Two connections on one snapshot of the live database.
pub struct Pinned {
    /// Streams the pages (`sqlite_dbpage`).
    pub reader: Connection,
    /// Runs the integrity check.
    pub checker: Connection,
    /// How the snapshot was shared, for the log.
    pub how: &'static str,
}

pub enum Pinning {
    Pinned(Box<Pinned>),
    /// The database is not in WAL mode (its journal mode is given): a
    /// reader blocks writers there, so the caller copies it once instead.
    NotWal(String),
    /// The WAL kept changing under every attempt.
    Unavailable,
}

/// Opens `source` twice and pins one snapshot on both connections.
pub fn pin(source: &Path) -> Result<Pinning, EngineError> {
    let reader = open_source(source)?;
    let journal_mode: String = reader
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(|e| reading_source(source, "cannot read the journal mode", e))?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Ok(Pinning::NotWal(journal_mode));
    }
    let checker = open_source(source)?;
    // A connection must have read the file once to know it is in WAL mode
    // before `sqlite3_snapshot_open` (SQLite's documentation).
    checker
        .query_row("PRAGMA application_id", [], |r| r.get::<_, i64>(0))
        .map_err(|e| reading_source(source, "cannot read the database", e))?;
    let fail = |context, e| reading_source(source, context, e);
    for attempt in 1..=ATTEMPTS {
        begin(&reader).map_err(|e| fail("cannot start a read transaction", e))?;
        begin(&checker).map_err(|e| fail("cannot start a read transaction", e))?;
        match share(&reader, &checker).map_err(|e| fail("cannot pin a snapshot", e))? {
            Some(how) => {
                return Ok(Pinning::Pinned(Box::new(Pinned {
                    reader,
                    checker,
                    how,
                })));
            }
            None => {
                end(&reader).map_err(|e| fail("cannot end a read transaction", e))?;
                end(&checker).map_err(|e| fail("cannot end a read transaction", e))?;
                tracing::debug!(attempt, "the WAL changed while the snapshot was shared");
                std::thread::sleep(PAUSE);
            }
        }
    }
    Ok(Pinning::Unavailable)
}

fn begin(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN DEFERRED")
}

fn end(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("COMMIT")
}

/// With both connections in a deferred transaction that has not read yet:
/// starts the reader's read transaction and puts the checker's on the
/// same snapshot. `None`: try again.
fn share(reader: &Connection, checker: &Connection) -> rusqlite::Result<Option<&'static str>> {
    match snapshot_get(reader) {
        Taken::Snapshot(snapshot) => {
            let opened = snapshot.open_on(checker);
            drop(snapshot);
            match opened {
                ffi::SQLITE_OK => Ok(Some("snapshot")),
                rc if retry(rc) => Ok(None),
                rc => Err(error_of(checker, rc)),
            }
        }
        // No frame in the WAL: the reader holds read-mark 0 and reads the
        // database file, which no checkpoint can change while it does.
        Taken::NoneWalUnwritten if in_read_transaction(reader) => match snapshot_get(checker) {
            Taken::NoneWalUnwritten if in_read_transaction(checker) => Ok(Some("database file")),
            Taken::Snapshot(_) => Ok(None), // a commit came in between
            Taken::NoneWalUnwritten => Err(error_of(checker, ffi::SQLITE_ERROR)),
            Taken::Failed(rc) if retry(rc) => Ok(None),
            Taken::Failed(rc) => Err(error_of(checker, rc)),
        },
        Taken::NoneWalUnwritten => Err(error_of(reader, ffi::SQLITE_ERROR)),
        Taken::Failed(rc) if retry(rc) => Ok(None),
        Taken::Failed(rc) => Err(error_of(reader, rc)),
    }
}

/// Codes after which a new attempt may succeed.
fn retry(rc: i32) -> bool {
    rc == ffi::SQLITE_ERROR_SNAPSHOT || rc & 0xff == ffi::SQLITE_BUSY
}

fn error_of(conn: &Connection, rc: i32) -> rusqlite::Error {
    // SAFETY: `handle` is the live connection of `conn`, used on this
    // thread only; `sqlite3_errmsg` returns a NUL-terminated string owned
    // by the connection, copied here before any other call on it.
    let message = unsafe {
        let msg = ffi::sqlite3_errmsg(conn.handle());
        (!msg.is_null()).then(|| CStr::from_ptr(msg).to_string_lossy().into_owned())
    };
    rusqlite::Error::SqliteFailure(ffi::Error::new(rc), message)
}

fn in_read_transaction(conn: &Connection) -> bool {
    // SAFETY: `handle` is the live connection of `conn` and `MAIN` a
    // NUL-terminated schema name; the call only reads the state.
    unsafe { ffi::sqlite3_txn_state(conn.handle(), MAIN.as_ptr()) == ffi::SQLITE_TXN_READ }
}

enum Taken {
    Snapshot(Snapshot),
    /// `SQLITE_ERROR`: the WAL has had no frame written since it was made.
    NoneWalUnwritten,
    Failed(i32),
}

/// A snapshot handle from `sqlite3_snapshot_get`, freed on drop.
struct Snapshot(*mut ffi::sqlite3_snapshot);

impl Snapshot {
    /// `sqlite3_snapshot_open` on `conn`, which must be in a transaction
    /// that has not read yet; returns SQLite's code.
    fn open_on(&self, conn: &Connection) -> i32 {
        // SAFETY: `self.0` is a valid snapshot (not yet freed: `self` is
        // alive); `handle` is `conn`'s live connection, used on this thread
        // only; `MAIN` is NUL-terminated. SQLite copies what it needs.
        unsafe { ffi::sqlite3_snapshot_open(conn.handle(), MAIN.as_ptr(), self.0) }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from a successful `sqlite3_snapshot_get`
        // and is freed exactly once, here.
        unsafe { ffi::sqlite3_snapshot_free(self.0) }
    }
}

/// `sqlite3_snapshot_get` on `conn`, which must be in a transaction that
/// has not read yet (SQLite then starts the read itself, avoiding
/// read-mark 0 so the snapshot stays pinned).
fn snapshot_get(conn: &Connection) -> Taken {
    let mut snapshot: *mut ffi::sqlite3_snapshot = std::ptr::null_mut();
    // SAFETY: `handle` is `conn`'s live connection, used on this thread
    // only; `MAIN` is NUL-terminated; `snapshot` is a valid out-pointer
    // that SQLite sets only on success.
    let rc = unsafe { ffi::sqlite3_snapshot_get(conn.handle(), MAIN.as_ptr(), &mut snapshot) };
    match rc {
        ffi::SQLITE_OK if !snapshot.is_null() => Taken::Snapshot(Snapshot(snapshot)),
        ffi::SQLITE_OK => Taken::Failed(ffi::SQLITE_MISUSE),
        ffi::SQLITE_ERROR => Taken::NoneWalUnwritten,
        rc => Taken::Failed(rc),
    }
}

/// Where a held read transaction's snapshot ends in the WAL: the last
/// frame it sees, the running checksum there, the WAL's salts and the
/// database's size in pages. Read from the snapshot handle, which SQLite
/// fills with its wal-index header (the layout documented in
/// sqlite.org/walformat.html §2.1, in native byte order, salts as in the
/// WAL file); the caller checks it against the WAL file itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotMark {
    pub max_frame: u32,
    pub frame_checksum: (u32, u32),
    pub salts: (u32, u32),
    pub pages: u32,
}

impl SnapshotMark {
    fn parse(hidden: &[u8; 48]) -> SnapshotMark {
        let native = |i: usize| u32::from_ne_bytes(hidden[i..i + 4].try_into().expect("4 bytes"));
        let big = |i: usize| u32::from_be_bytes(hidden[i..i + 4].try_into().expect("4 bytes"));
        SnapshotMark {
            max_frame: native(16),
            pages: native(20),
            frame_checksum: (native(24), native(28)),
            salts: (big(32), big(36)),
        }
    }
}

/// What [`hold`] started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// A read transaction pinned in the WAL (never on read-mark 0): while
    /// it lasts, no checkpoint goes past its mark and no writer starts the
    /// WAL over.
    Snapshot(SnapshotMark),
    /// The WAL has had no frame written since it was made: the read
    /// transaction reads the database file alone, on read-mark 0, which
    /// keeps every checkpoint from writing into that file.
    WalUnwritten,
}

/// Starts a read transaction on `conn` that holds the WAL in place, and
/// tells where its snapshot ends. `conn` must not be in a transaction.
pub fn hold(conn: &Connection) -> rusqlite::Result<Held> {
    begin(conn)?;
    let taken = snapshot_get(conn);
    let held = match taken {
        Taken::Snapshot(snapshot) => {
            // SAFETY: `snapshot.0` is a valid, not yet freed snapshot from
            // `sqlite3_snapshot_get`, whose 48 bytes SQLite filled.
            let hidden = unsafe { (*snapshot.0).hidden };
            Ok(Held::Snapshot(SnapshotMark::parse(&hidden)))
        }
        Taken::NoneWalUnwritten if in_read_transaction(conn) => Ok(Held::WalUnwritten),
        Taken::NoneWalUnwritten => Err(error_of(conn, ffi::SQLITE_ERROR)),
        Taken::Failed(rc) => Err(error_of(conn, rc)),
    };
    if held.is_err() {
        let _ = end(conn);
    }
    held
}

/// Ends what [`hold`] started.
pub fn release(conn: &Connection) -> rusqlite::Result<()> {
    if in_read_transaction(conn) {
        end(conn)?;
    }
    Ok(())
}

/// Whether the bundled SQLite has the compile options this module and the
/// page stream need (a test checks the build; `PRAGMA compile_options`).
pub fn compiled_in(conn: &Connection) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare("PRAGMA compile_options")?;
    let options: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(["ENABLE_SNAPSHOT", "ENABLE_DBPAGE_VTAB"]
        .iter()
        .all(|want| options.iter().any(|o| o == want)))
}
