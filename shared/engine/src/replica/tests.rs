use std::collections::BTreeMap;

use rusqlite::Connection;

use super::*;

fn live_database(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch("CREATE TABLE incident (id INTEGER PRIMARY KEY, title TEXT NOT NULL);")
        .unwrap();
    conn
}

fn commit(conn: &Connection, i: u32) {
    conn.execute_batch(&format!(
        "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < {})
         INSERT INTO incident (title) SELECT hex(randomblob(100)) FROM k;
         DELETE FROM incident WHERE id % 7 = {};",
        20 + i * 13 % 200,
        i % 7
    ))
    .unwrap();
}

fn pages_of(path: &Path) -> BTreeMap<u32, Vec<u8>> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT pgno, data FROM sqlite_dbpage('main') ORDER BY pgno")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn integrity(path: &Path) -> String {
    Connection::open(path)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn the_lineage_rebuilds_the_database_as_it_was_at_each_capture() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("itsm.db");
    let app = live_database(&live);
    commit(&app, 0);
    let wal_root = dir.path().join("wal");
    let (mut tap, lineage) = start(&wal_root, &live, ulid::Ulid::generate(), 16, 1_000).unwrap();
    let mut expected = vec![(1_000, pages_of(&live))];

    for i in 1..=30u32 {
        commit(&app, i);
        let now = 1_000 + i64::from(i) * 1_000;
        if let crate::tap::Step::Segments(segments) = tap.step(now).unwrap() {
            for s in &segments {
                lineage.write_segment(s).unwrap();
            }
        }
        expected.push((now, pages_of(&live)));
    }

    assert!(tap.counts().releases > 0, "{:?}", tap.counts());
    for (at, pages) in expected.iter().step_by(7).chain(expected.last()) {
        let dest = dir.path().join(format!("at-{at}.db"));
        let replayed = replay(&lineage.dir, Some(*at), &dest).unwrap();
        assert_eq!(replayed.as_of_ms, *at);
        assert_eq!(&pages_of(&dest), pages, "the database as it was at {at}");
        assert_eq!(integrity(&dest), "ok");
    }
}

#[test]
fn a_segment_out_of_its_chain_stops_the_replay() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("itsm.db");
    let app = live_database(&live);
    let wal_root = dir.path().join("wal");
    let (mut tap, lineage) = start(&wal_root, &live, ulid::Ulid::generate(), 1_000, 1).unwrap();
    let mut written = Vec::new();
    for i in 1..=3u32 {
        commit(&app, i);
        if let crate::tap::Step::Segments(segments) = tap.step(i64::from(i)).unwrap() {
            for s in &segments {
                written.push(lineage.write_segment(s).unwrap());
            }
        }
    }
    assert_eq!(written.len(), 3);
    std::fs::remove_file(&written[1]).unwrap();

    let err = replay(&lineage.dir, None, &dir.path().join("out.db")).unwrap_err();

    assert!(err.to_string().contains("does not follow"), "{err}");
}

#[test]
fn a_restore_to_an_instant_takes_the_last_capture_before_it_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("itsm.db");
    let app = live_database(&live);
    let wal_root = dir.path().join("wal");
    let (mut tap, lineage) =
        start(&wal_root, &live, ulid::Ulid::generate(), 1_000, 10_000).unwrap();
    let mut at = BTreeMap::new();
    for i in 1..=5u32 {
        commit(&app, i);
        if let crate::tap::Step::Segments(segments) =
            tap.step(10_000 + i64::from(i) * 1_000).unwrap()
        {
            for s in &segments {
                lineage.write_segment(s).unwrap();
            }
        }
        at.insert(10_000 + i64::from(i) * 1_000, pages_of(&live));
    }

    // Between two captures: the earlier one.
    let dest = dir.path().join("inspect.db");
    let restored = restore_at(&wal_root, 13_500, &dest).unwrap();
    assert_eq!(restored.replayed.as_of_ms, 13_000);
    assert_eq!(pages_of(&dest), at[&13_000]);
    assert_eq!(integrity(&dest), "ok");

    let again = restore_at(&wal_root, 14_000, &dest).unwrap_err();
    assert_eq!(again.code(), "destination_exists", "{again}");
    let early = restore_at(&wal_root, 9_999, &dir.path().join("early.db")).unwrap_err();
    assert_eq!(early.code(), "outside_recovery_window", "{early}");
    assert!(!dir.path().join("early.db").exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("restore-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn pruning_keeps_the_lineage_the_oldest_kept_instant_falls_in_and_every_newer_one() {
    let dir = tempfile::tempdir().unwrap();
    let wal_root = dir.path().join("wal");
    let lineage_at = |taken_ms: i64| {
        let lineage = ulid::Ulid::generate();
        let d = wal_root.join(lineage.to_string());
        std::fs::create_dir_all(&d).unwrap();
        let record = BaseRecord {
            lineage: lineage.to_string(),
            database_id: "db".into(),
            page_size: 4096,
            pages: 1,
            checksum: String::new(),
            taken_ms,
            gz_bytes: 0,
        };
        write_record(&d, &record).unwrap();
        d
    };
    let (a, b, c, d) = (
        lineage_at(1_000),
        lineage_at(2_000),
        lineage_at(3_000),
        lineage_at(4_000),
    );

    assert!(
        prune(&wal_root, 500).unwrap().is_empty(),
        "nothing before the oldest base"
    );
    let removed = prune(&wal_root, 3_500).unwrap();

    assert_eq!(removed, vec![a.clone(), b.clone()]);
    assert!(!a.exists() && !b.exists());
    assert!(c.exists(), "3,500 falls in the lineage of 3,000");
    assert!(d.exists());
    assert!(
        prune(&wal_root, 10_000).unwrap().len() == 1,
        "the newest always stays"
    );
    assert!(d.exists());
}
