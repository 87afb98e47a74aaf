use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::*;

/// The application's database (WAL, never checkpointed by SQLite itself)
/// and a capture state that starts from its file with one commit in the
/// WAL not yet captured.
struct App {
    dir: tempfile::TempDir,
    conn: Connection,
    base: BTreeMap<u32, Vec<u8>>,
}

impl App {
    fn new() -> App {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("live.db")).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT);
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
        let base = std::fs::read(dir.path().join("live.db"))
            .unwrap()
            .chunks(4096)
            .enumerate()
            .map(|(i, p)| (i as u32 + 1, p.to_vec()))
            .collect();
        let app = App { dir, conn, base };
        app.commit(0);
        app
    }

    fn wal_path(&self) -> PathBuf {
        self.dir.path().join("live.db-wal")
    }

    fn wal(&self) -> WalFile {
        WalFile::open(File::open(self.wal_path()).unwrap())
            .unwrap()
            .unwrap()
    }

    fn commit(&self, i: i64) {
        self.conn
            .execute_batch(&format!(
                "BEGIN;
                 WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 300)
                 INSERT INTO t (body) SELECT hex(randomblob(80)) FROM n;
                 DELETE FROM t WHERE id % 11 = {i};
                 COMMIT;"
            ))
            .unwrap();
    }

    fn state(&self) -> CaptureState {
        let wal = self.wal();
        let hashes = PageHashes::of_pages(self.base.iter().map(|(n, p)| (*n, p.as_slice())));
        let start = wal.header().start();
        CaptureState::after_base(
            ulid::Ulid::generate(),
            ulid::Ulid::generate(),
            &wal,
            start,
            hashes,
        )
    }

    fn rows(conn: &Connection) -> Vec<(i64, String)> {
        let mut stmt = conn.prepare("SELECT id, body FROM t ORDER BY id").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

fn segment(capture: Capture) -> Segment {
    match capture {
        Capture::Segment(s) => s,
        other => panic!("expected a segment, got {other:?}"),
    }
}

/// The base with `segments` applied in order, written as a database file.
fn rebuild(app: &App, segments: &[&Segment], path: &Path) -> PageHashes {
    let mut pages = app.base.clone();
    for s in segments {
        pages.extend(s.pages.iter().cloned());
        pages.retain(|pgno, _| *pgno <= s.header.commit_size);
    }
    let bytes: Vec<u8> = pages.values().flatten().copied().collect();
    std::fs::write(path, bytes).unwrap();
    PageHashes::of_pages(pages.iter().map(|(n, p)| (*n, p.as_slice())))
}

#[test]
fn consecutive_captures_chain_and_their_segments_rebuild_what_the_application_sees() {
    let app = App::new();
    let mut state = app.state();
    app.commit(1);
    let first = segment(state.capture(&app.wal(), 1_000).unwrap());
    assert_eq!((first.header.sequence, first.header.previous), (1, 0));
    assert_eq!(state.capture(&app.wal(), 2_000).unwrap(), Capture::Nothing);

    app.commit(2);
    app.commit(3);
    let second = segment(state.capture(&app.wal(), 3_000).unwrap());
    assert_eq!((second.header.sequence, second.header.previous), (2, 1));
    assert_eq!(second.header.before, first.header.after, "the chain links");
    assert_eq!(
        second.header.wal_offset,
        std::fs::metadata(app.wal_path()).unwrap().len()
    );

    let rebuilt = app.dir.path().join("rebuilt.db");
    let hashes = rebuild(&app, &[&first, &second], &rebuilt);
    assert_eq!(hashes.checksum(), second.header.after);
    assert_eq!(hashes.checksum(), state.hashes.checksum());
    assert_eq!(
        App::rows(&Connection::open(&rebuilt).unwrap()),
        App::rows(&app.conn)
    );
    assert!(crate::snapshot::integrity_check(&rebuilt).is_ok());
}

#[test]
fn a_wal_started_over_breaks_the_chain_and_leaves_the_state_as_it_was() {
    let app = App::new();
    let mut state = app.state();
    segment(state.capture(&app.wal(), 1_000).unwrap());
    let before = state.clone();
    // Someone checkpoints everything; the next commit starts the WAL over.
    app.conn
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        .unwrap();
    app.commit(4);

    let capture = state.capture(&app.wal(), 2_000).unwrap();
    assert!(
        matches!(capture, Capture::Broken(ref why) if why.contains("started over")),
        "{capture:?}"
    );
    assert_eq!(state, before);
}

#[test]
fn a_wal_cut_below_what_was_captured_breaks_the_chain() {
    let app = App::new();
    app.commit(5);
    let mut state = app.state();
    segment(state.capture(&app.wal(), 1_000).unwrap());
    let cut = app.dir.path().join("cut-wal");
    let bytes = std::fs::read(app.wal_path()).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let wal = WalFile::open(File::open(&cut).unwrap()).unwrap().unwrap();

    let capture = state.capture(&wal, 2_000).unwrap();
    assert!(
        matches!(capture, Capture::Broken(ref why) if why.contains("shorter")),
        "{capture:?}"
    );
}
