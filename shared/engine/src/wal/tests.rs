use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::*;

/// The application: a WAL database whose WAL SQLite never checkpoints by
/// itself, with an empty WAL to begin with.
struct App {
    dir: tempfile::TempDir,
    conn: Connection,
}

impl App {
    fn new() -> App {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("live.db")).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
            .unwrap();
        let app = App { dir, conn };
        app.checkpoint("TRUNCATE");
        app
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("live.db")
    }

    fn wal(&self) -> PathBuf {
        self.dir.path().join("live.db-wal")
    }

    /// One transaction of `rows` new rows.
    fn commit(&self, rows: i64) {
        self.conn
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
                 INSERT INTO t (body) SELECT hex(randomblob(60)) FROM n",
                [rows],
            )
            .unwrap();
    }

    fn checkpoint(&self, mode: &str) {
        let busy: i64 = self
            .conn
            .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(busy, 0);
    }

    fn open_wal(&self) -> WalFile {
        WalFile::open(File::open(self.wal()).unwrap())
            .unwrap()
            .expect("a WAL with a header")
    }
}

fn count(db: &Path) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
        .unwrap()
}

/// A copy of the database file with `transactions` written into it, as a
/// checkpoint would: each page at its place, the file cut to the size of
/// the last commit.
fn rebuild(app: &App, wal: &WalFile, transactions: &[Transaction]) -> PathBuf {
    let rebuilt = app.dir.path().join("rebuilt.db");
    std::fs::copy(app.db(), &rebuilt).unwrap();
    let file = OpenOptions::new().write(true).open(&rebuilt).unwrap();
    let page_size = u64::from(wal.header().page_size);
    for frame in transactions.iter().flat_map(|t| &t.pages) {
        let page = wal.page(frame).unwrap();
        file.write_all_at(&page, (u64::from(frame.pgno) - 1) * page_size)
            .unwrap();
    }
    let last = transactions.last().unwrap().commit_size;
    file.set_len(u64::from(last) * page_size).unwrap();
    rebuilt
}

#[test]
fn every_commit_is_found_and_its_frames_rebuild_the_database_sqlite_sees() {
    let app = App::new();
    assert!(
        WalFile::open(File::open(app.wal()).unwrap())
            .unwrap()
            .is_none(),
        "a truncated WAL has no header yet"
    );
    for rows in [200, 300, 400] {
        app.commit(rows);
    }
    let wal = app.open_wal();
    let transactions = wal.committed_after(wal.header().start()).unwrap();

    assert_eq!(transactions.len(), 3);
    let page_count: u32 = app
        .conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    assert_eq!(transactions[2].commit_size, page_count);
    assert_eq!(
        transactions[2].end.offset,
        std::fs::metadata(app.wal()).unwrap().len(),
        "the last commit ends the file"
    );
    let rebuilt = rebuild(&app, &wal, &transactions);
    assert_eq!(count(&rebuilt), 900);
    assert_eq!(crate::snapshot::integrity_check(&rebuilt).ok(), Some(()));
}

#[test]
fn a_torn_last_frame_ends_what_is_committed_at_the_commit_before_it() {
    let app = App::new();
    for rows in [200, 300, 400] {
        app.commit(rows);
    }
    let torn = app.dir.path().join("torn-wal");
    let bytes = std::fs::read(app.wal()).unwrap();
    let whole = app
        .open_wal()
        .committed_after(app.open_wal().header().start())
        .unwrap();
    let second_end = whole[1].end.offset as usize;
    for (what, damaged) in [
        (
            "cut inside the last frame",
            bytes[..bytes.len() - 100].to_vec(),
        ),
        ("a byte of the last page flipped", {
            let mut b = bytes.clone();
            let at = b.len() - 10;
            b[at] ^= 0xff;
            b
        }),
        ("a byte of the third transaction's first frame flipped", {
            let mut b = bytes.clone();
            b[second_end + 30] ^= 0x01;
            b
        }),
    ] {
        std::fs::write(&torn, &damaged).unwrap();
        let wal = WalFile::open(File::open(&torn).unwrap()).unwrap().unwrap();
        let found = wal.committed_after(wal.header().start()).unwrap();
        assert_eq!(found, whole[..2], "{what}");
    }
}

#[test]
fn reading_on_from_a_position_gives_only_the_commits_after_it() {
    let app = App::new();
    app.commit(100);
    app.commit(100);
    let wal = app.open_wal();
    let first = wal.committed_after(wal.header().start()).unwrap();
    let end = first.last().unwrap().end;

    app.commit(50);
    app.commit(70);
    let later = wal.committed_after(end).unwrap();
    assert_eq!(later.len(), 2);
    assert_eq!(later[0].pages[0].offset, end.offset + FRAME_HEADER_BYTES);
    let all: Vec<_> = first.into_iter().chain(later).collect();
    assert_eq!(count(&rebuild(&app, &wal, &all)), 320);
}

#[test]
fn a_wal_started_over_has_new_salts_and_a_position_of_the_old_one_finds_nothing() {
    let app = App::new();
    for _ in 0..3 {
        app.commit(300);
    }
    let old = app.open_wal();
    let end = old.committed_after(old.header().start()).unwrap()[0].end;
    // Once every frame is in the database, the next writer starts the WAL
    // over from its first byte.
    app.checkpoint("PASSIVE");
    app.commit(10);

    let new = app.open_wal();
    assert_ne!(new.header().salts, old.header().salts);
    assert_eq!(new.header().checkpoint_seq, old.header().checkpoint_seq + 1);
    assert!(new.committed_after(end).unwrap().is_empty());
    let fresh = new.committed_after(new.header().start()).unwrap();
    assert_eq!(fresh.len(), 1);
}

#[test]
fn a_file_that_is_not_a_wal_is_refused() {
    let mut header = [0u8; HEADER_BYTES as usize];
    header[..4].copy_from_slice(b"SQLi");
    assert!(matches!(
        WalHeader::parse(&header),
        Err(WalError::NotAWal(_))
    ));
    let app = App::new();
    app.commit(1);
    let mut header = [0u8; HEADER_BYTES as usize];
    File::open(app.wal())
        .unwrap()
        .read_exact_at(&mut header, 0)
        .unwrap();
    header[15] ^= 1;
    assert!(matches!(
        WalHeader::parse(&header),
        Err(WalError::HeaderChecksum)
    ));
}
