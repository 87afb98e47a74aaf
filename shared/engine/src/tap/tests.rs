use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::*;

type Pages = BTreeMap<u32, Vec<u8>>;

/// The application's database: WAL, SQLite's default autocheckpoint.
fn live_database(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch(
        "CREATE TABLE incident (id INTEGER PRIMARY KEY, title TEXT NOT NULL, state INTEGER);
         CREATE INDEX incident_state ON incident (state);",
    )
    .unwrap();
    conn
}

/// Commits until `stop`: inserts, updates and deletes of all sizes, with
/// a TRUNCATE checkpoint now and then when `truncating` (it only succeeds
/// while the tap holds nothing). Returns the commits made.
fn application(
    path: &Path,
    stop: Arc<AtomicBool>,
    truncating: bool,
    made: &std::sync::atomic::AtomicU64,
) -> u64 {
    let conn = Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let mut commits = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let n = commits % 50 + 1;
        conn.execute_batch(&format!(
            "BEGIN;
             WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < {n})
             INSERT INTO incident (title, state) SELECT hex(randomblob(60)), i % 5 FROM k;
             UPDATE incident SET state = state + 1 WHERE id % 17 = {};
             DELETE FROM incident WHERE id % 23 = {};
             COMMIT;",
            commits % 17,
            commits % 23
        ))
        .unwrap();
        commits += 1;
        made.store(commits, Ordering::SeqCst);
        if truncating && commits.is_multiple_of(40) {
            // Never waits: it only succeeds while the tap holds nothing.
            conn.busy_timeout(Duration::ZERO).unwrap();
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            conn.busy_timeout(Duration::from_secs(5)).unwrap();
        }
    }
    commits
}

/// The database as SQLite sees it now, page by page.
fn pages_of(path: &Path) -> Pages {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT pgno, data FROM sqlite_dbpage('main') ORDER BY pgno")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Replays `segments` over `base`, checking that each one starts from the
/// database the chain has reached and ends where it says.
fn replay(mut db: Pages, segments: &[Segment]) -> Pages {
    let checksum = |db: &Pages| PageHashes::of_pages(db.iter().map(|(n, p)| (*n, p.as_slice())));
    for (i, segment) in segments.iter().enumerate() {
        let h = &segment.header;
        assert_eq!(h.sequence, i as u64 + 1, "sequences follow each other");
        assert_eq!(h.previous + 1, h.sequence);
        assert_eq!(
            checksum(&db).checksum(),
            h.before,
            "segment {} starts where the chain is",
            h.sequence
        );
        for (pgno, page) in &segment.pages {
            db.insert(*pgno, page.clone());
        }
        db.split_off(&(h.commit_size + 1));
        assert_eq!(
            checksum(&db).checksum(),
            h.after,
            "segment {} ends where it says",
            h.sequence
        );
    }
    db
}

struct Run {
    base: Pages,
    segments: Vec<Segment>,
    counts: Counts,
    commits: u64,
}

/// Taps `live` while the application commits, until `enough` says the
/// run has shown what it is for (or a minute has gone by), then captures
/// what is left.
fn tap_under_load(
    live: &Path,
    truncating: bool,
    frames: u64,
    enough: impl Fn(&Counts, u64) -> bool,
) -> Run {
    let mut base = Pages::new();
    let (mut tap, _) = Tap::open(
        live,
        ulid::Ulid::generate(),
        ulid::Ulid::generate(),
        frames,
        &mut |n, p| {
            base.insert(n, p.to_vec());
            Ok(())
        },
    )
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let commits = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let app = std::thread::spawn({
        let (live, stop, commits) = (live.to_path_buf(), stop.clone(), commits.clone());
        move || application(&live, stop, truncating, &commits)
    });
    let mut segments = Vec::new();
    let started = Instant::now();
    let mut keep = |step: Step| {
        if let Step::Segments(s) = step {
            segments.extend(s);
        }
    };
    while !enough(&tap.counts(), commits.load(Ordering::SeqCst))
        && started.elapsed() < Duration::from_secs(60)
    {
        keep(tap.step(0).unwrap());
        std::thread::sleep(Duration::from_millis(3));
    }
    stop.store(true, Ordering::SeqCst);
    let commits = app.join().unwrap();
    eprintln!(
        "tapped {commits} commits in {:?}: {:?}",
        started.elapsed(),
        tap.counts()
    );
    keep(tap.step(0).unwrap());
    keep(tap.step(0).unwrap());
    Run {
        base,
        segments,
        counts: tap.counts(),
        commits,
    }
}

#[test]
fn every_commit_under_load_is_in_the_chain_across_checkpoints_and_new_wal_generations() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("itsm.db");
    let _keep_open = live_database(&live);

    let run = tap_under_load(&live, false, 64, |counts, commits| {
        commits >= 3_000 && counts.releases >= 3 && counts.generations >= 3
    });

    assert!(
        run.commits > 100,
        "the application committed {} times",
        run.commits
    );
    assert!(run.counts.checkpoints > 0, "{:?}", run.counts);
    assert!(run.counts.releases > 0, "{:?}", run.counts);
    assert!(
        run.counts.generations > 0,
        "the WAL was started over and followed: {:?}",
        run.counts
    );
    assert_eq!(
        replay(run.base, &run.segments),
        pages_of(&live),
        "the chain rebuilds the database"
    );
    let wal = std::fs::metadata(dir.path().join("itsm.db-wal"))
        .unwrap()
        .len();
    assert!(
        wal < 16 << 20,
        "the WAL stays small under load: {wal} bytes"
    );
}

#[test]
fn truncate_checkpoints_by_the_application_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("itsm.db");
    let _keep_open = live_database(&live);

    let run = tap_under_load(&live, true, 64, |counts, commits| {
        commits >= 300 && counts.releases >= 3
    });

    assert!(
        run.commits > 100,
        "the application committed {} times",
        run.commits
    );
    assert_eq!(
        replay(run.base, &run.segments),
        pages_of(&live),
        "the chain rebuilds the database"
    );
}

/// A tap on `live` that checkpoints and lets go after every step, and the
/// base it read.
fn letting_go_tap(live: &Path) -> (Tap, Pages) {
    let mut base = Pages::new();
    let (tap, _) = Tap::open(
        live,
        ulid::Ulid::generate(),
        ulid::Ulid::generate(),
        1,
        &mut |n, p| {
            base.insert(n, p.to_vec());
            Ok(())
        },
    )
    .unwrap();
    (tap, base)
}

fn commit(conn: &Connection, rows: u32) {
    conn.execute_batch(&format!(
        "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < {rows})
         INSERT INTO incident (title, state) SELECT hex(randomblob(60)), i % 5 FROM k;"
    ))
    .unwrap();
}

fn segments_of(step: Step) -> Vec<Segment> {
    match step {
        Step::Segments(s) => s,
        Step::Nothing => Vec::new(),
    }
}

#[test]
fn frames_the_old_wal_generation_committed_while_the_tap_let_go_are_read_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("itsm.db");
    let app = live_database(&live);
    let (mut tap, base) = letting_go_tap(&live);
    commit(&app, 100);
    let mut segments = segments_of(tap.step(0).unwrap());
    assert_eq!(tap.counts().releases, 1, "{:?}", tap.counts());

    // While the tap holds nothing: a reader of the application (on a
    // read-mark of the WAL, as a snapshot reader is) keeps the WAL from
    // starting over, so these commits go to the old generation…
    let reader = Connection::open(&live).unwrap();
    reader
        .query_row("PRAGMA application_id", [], |_| Ok(()))
        .unwrap();
    assert!(matches!(pinned::hold(&reader).unwrap(), Held::Snapshot(_)));
    commit(&app, 40);
    commit(&app, 40);
    pinned::release(&reader).unwrap();
    // …a checkpoint copies them into the database, and the next commit
    // starts the WAL over, small enough to leave the old frames in place.
    app.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        .unwrap();
    commit(&app, 1);
    segments.extend(segments_of(tap.step(0).unwrap()));

    assert_eq!(tap.counts().generations, 1, "{:?}", tap.counts());
    assert_eq!(tap.counts().repairs, 0, "{:?}", tap.counts());
    assert_eq!(replay(base, &segments), pages_of(&live));
}

#[test]
fn a_truncate_checkpoint_while_the_tap_let_go_is_repaired_from_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("itsm.db");
    let app = live_database(&live);
    let (mut tap, base) = letting_go_tap(&live);
    commit(&app, 100);
    let mut segments = segments_of(tap.step(0).unwrap());
    assert_eq!(tap.counts().releases, 1, "{:?}", tap.counts());

    // While the tap holds nothing, commits, then a TRUNCATE checkpoint:
    // those frames are gone from the WAL before the tap saw them.
    commit(&app, 40);
    app.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    commit(&app, 5);
    segments.extend(segments_of(tap.step(0).unwrap()));

    assert_eq!(tap.counts().repairs, 1, "{:?}", tap.counts());
    assert_eq!(replay(base, &segments), pages_of(&live));
}

#[test]
fn a_database_not_in_wal_mode_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("rollback.db");
    let conn = Connection::open(&live).unwrap();
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();

    let err = Tap::open(
        &live,
        ulid::Ulid::generate(),
        ulid::Ulid::generate(),
        64,
        &mut |_, _| Ok(()),
    )
    .err()
    .unwrap();

    assert!(
        matches!(err, TapError::NotWal(ref mode) if mode == "delete"),
        "{err}"
    );
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
}

#[test]
fn a_transaction_larger_than_a_segment_may_hold_stops_the_lineage_instead_of_filling_memory() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("itsm.db");
    let app = live_database(&live);
    let (tap, _) = letting_go_tap(&live);
    let mut tap = tap.with_segment_limit(16 * 4096);
    commit(&app, 5);
    assert!(matches!(tap.step(0).unwrap(), Step::Segments(_)));

    commit(&app, 2_000);
    let err = tap.step(1).unwrap_err();

    assert!(
        matches!(err, TapError::Oversized { pages, max_pages: 16 } if pages > 16),
        "{err}"
    );
}

/// A tap that captured a few commits, stopped and saved, and the chain so far.
fn stopped_tap(live: &Path, app: &Connection) -> (Saved, Pages, Vec<Segment>) {
    let (mut tap, base) = letting_go_tap(live);
    commit(app, 50);
    let segments = segments_of(tap.step(0).unwrap());
    commit(app, 30);
    let mut segments = segments;
    segments.extend(segments_of(tap.step(1).unwrap()));
    (tap.save(), base, segments)
}

#[test]
fn a_tap_resumed_after_a_stop_captures_what_was_committed_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("itsm.db");
    let app = live_database(&live);
    let (saved, base, mut segments) = stopped_tap(&live, &app);

    // While no tap runs: a small commit, which starts the WAL over, not
    // reaching the place the old generation was read to.
    commit(&app, 2);
    let mut tap = Tap::resume(&live, saved, 1).unwrap();
    segments.extend(segments_of(tap.step(2).unwrap()));

    assert_eq!(tap.counts().generations, 1, "{:?}", tap.counts());
    assert_eq!(tap.counts().repairs, 0, "{:?}", tap.counts());
    assert_eq!(replay(base, &segments), pages_of(&live));
}

#[test]
fn a_tap_resumed_after_many_commits_meanwhile_repairs_what_the_wal_no_longer_shows() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("itsm.db");
    let app = live_database(&live);
    let (saved, base, mut segments) = stopped_tap(&live, &app);

    for _ in 0..20 {
        commit(&app, 40);
    }
    let mut tap = Tap::resume(&live, saved, 1).unwrap();
    segments.extend(segments_of(tap.step(2).unwrap()));

    assert_eq!(tap.counts().repairs, 1, "{:?}", tap.counts());
    assert_eq!(replay(base, &segments), pages_of(&live));
}

#[test]
fn a_tap_resumed_after_the_database_was_closed_and_its_wal_removed_repairs_from_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("itsm.db");
    let app = live_database(&live);
    let (saved, base, mut segments) = stopped_tap(&live, &app);

    // The last connection's close checkpoints and deletes the WAL; a new
    // one starts afresh.
    drop(app);
    assert!(!dir.path().join("itsm.db-wal").exists());
    let app = Connection::open(&live).unwrap();
    commit(&app, 40);
    let mut tap = Tap::resume(&live, saved, 1).unwrap();
    segments.extend(segments_of(tap.step(2).unwrap()));

    assert_eq!(tap.counts().repairs, 1, "{:?}", tap.counts());
    assert_eq!(replay(base, &segments), pages_of(&live));
}

#[test]
fn a_restart_checkpoint_by_the_application_then_quiet_then_commits_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("itsm.db");
    let app = live_database(&live);
    let (mut tap, base) = letting_go_tap(&live);
    commit(&app, 60);
    let mut segments = segments_of(tap.step(0).unwrap());

    // The WAL is started over without a write: the file keeps its old
    // header until the next commit.
    app.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))
        .unwrap();
    segments.extend(segments_of(tap.step(1).unwrap()));
    segments.extend(segments_of(tap.step(2).unwrap()));
    commit(&app, 3);
    segments.extend(segments_of(tap.step(3).unwrap()));
    commit(&app, 3);
    segments.extend(segments_of(tap.step(4).unwrap()));

    assert_eq!(replay(base, &segments), pages_of(&live));
}
