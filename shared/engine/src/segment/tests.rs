use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rusqlite::Connection;

use super::*;
use crate::wal::WalFile;

/// The pages of a database file, numbered from 1.
fn file_pages(path: &Path, page_size: usize) -> Vec<(u32, Vec<u8>)> {
    std::fs::read(path)
        .unwrap()
        .chunks(page_size)
        .enumerate()
        .map(|(i, p)| (i as u32 + 1, p.to_vec()))
        .collect()
}

fn hashes_of(pages: &[(u32, Vec<u8>)]) -> PageHashes {
    PageHashes::of_pages(pages.iter().map(|(n, p)| (*n, p.as_slice())))
}

/// A database with an empty WAL, then `commits` transactions in its WAL;
/// the segment of those transactions, made from the WAL as a capture would.
struct Captured {
    dir: tempfile::TempDir,
    _app: Connection,
    base: Vec<(u32, Vec<u8>)>,
    segment: Segment,
}

fn capture(commits: usize) -> Captured {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let app = Connection::open(&db).unwrap();
    app.pragma_update(None, "journal_mode", "WAL").unwrap();
    app.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    app.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
         INSERT INTO t (body) SELECT hex(randomblob(100)) FROM n;
         PRAGMA wal_checkpoint(TRUNCATE);",
    )
    .unwrap();
    let base = file_pages(&db, 4096);
    for i in 0..commits {
        app.execute_batch(&format!(
            "BEGIN;
             UPDATE t SET body = hex(randomblob(90)) WHERE id % 7 = {i};
             DELETE FROM t WHERE id % 50 = {i};
             COMMIT;"
        ))
        .unwrap();
    }
    let wal = WalFile::open(File::open(dir.path().join("live.db-wal")).unwrap())
        .unwrap()
        .unwrap();
    let transactions = wal.committed_after(wal.header().start()).unwrap();
    assert_eq!(transactions.len(), commits);
    let last = transactions.last().unwrap();
    let mut latest = BTreeMap::new();
    for frame in transactions.iter().flat_map(|t| &t.pages) {
        if frame.pgno <= last.commit_size {
            latest.insert(frame.pgno, wal.page(frame).unwrap());
        }
    }
    let pages: Vec<(u32, Vec<u8>)> = latest.into_iter().collect();
    let before = hashes_of(&base);
    let mut after = before.clone();
    after.apply(
        pages.iter().map(|(n, p)| (*n, p.as_slice())),
        Some(last.commit_size),
    );
    let header = SegmentHeader {
        page_size: wal.header().page_size,
        database_id: ulid::Ulid::generate(),
        lineage: ulid::Ulid::generate(),
        sequence: 1,
        previous: 0,
        wal_checkpoint_seq: wal.header().checkpoint_seq,
        wal_salts: wal.header().salts,
        wal_offset: last.end.offset,
        commit_size: last.commit_size,
        first_commit_ms: 1_764_000_000_000,
        last_commit_ms: 1_764_000_000_900,
        before: before.checksum(),
        after: after.checksum(),
    };
    Captured {
        dir,
        _app: app,
        base,
        segment: Segment { header, pages },
    }
}

#[test]
fn a_segment_written_and_read_back_rebuilds_the_database_and_its_checksums_chain() {
    let c = capture(3);
    let path = write(c.dir.path(), &c.segment).unwrap();
    assert_eq!(path.file_name().unwrap(), "00000000000000000001.seg.gz");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let read_back = read(&path).unwrap();
    assert_eq!(read_back, c.segment);
    // The base, the segment's pages over it, cut to its commit size.
    let mut rebuilt: BTreeMap<u32, Vec<u8>> = c.base.iter().cloned().collect();
    rebuilt.extend(read_back.pages.iter().cloned());
    rebuilt.retain(|pgno, _| *pgno <= read_back.header.commit_size);
    let rebuilt: Vec<(u32, Vec<u8>)> = rebuilt.into_iter().collect();
    assert_eq!(hashes_of(&c.base).checksum(), read_back.header.before);
    assert_eq!(hashes_of(&rebuilt).checksum(), read_back.header.after);
    let file = c.dir.path().join("rebuilt.db");
    std::fs::write(&file, rebuilt.concat_pages()).unwrap();
    let sqlite = Connection::open(&file).unwrap();
    let live = Connection::open(c.dir.path().join("live.db")).unwrap();
    let rows = |conn: &Connection| -> Vec<(i64, String)> {
        let mut stmt = conn.prepare("SELECT id, body FROM t ORDER BY id").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(rows(&sqlite), rows(&live));
    drop(sqlite);
    assert!(crate::snapshot::integrity_check(&file).is_ok());
}

trait ConcatPages {
    fn concat_pages(&self) -> Vec<u8>;
}

impl ConcatPages for Vec<(u32, Vec<u8>)> {
    fn concat_pages(&self) -> Vec<u8> {
        self.iter().flat_map(|(_, p)| p.iter().copied()).collect()
    }
}

#[test]
fn a_damaged_or_cut_or_unknown_segment_is_refused_with_what_is_wrong() {
    let c = capture(2);
    let path = write(c.dir.path(), &c.segment).unwrap();
    let compressed = std::fs::read(&path).unwrap();
    let damaged_path = c.dir.path().join("damaged.seg.gz");

    let mut flipped = compressed.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    std::fs::write(&damaged_path, &flipped).unwrap();
    assert!(matches!(read(&damaged_path), Err(SegmentError::Damaged)));

    std::fs::write(&damaged_path, &compressed[..compressed.len() / 2]).unwrap();
    assert!(matches!(read(&damaged_path), Err(SegmentError::Truncated)));

    let mut bytes = c.segment.encode().unwrap();
    bytes[9] = 2;
    assert!(matches!(
        Segment::decode(&bytes),
        Err(SegmentError::UnknownVersion(2))
    ));
    let mut bytes = c.segment.encode().unwrap();
    let at = HEADER_BYTES + 100;
    bytes[at] ^= 1;
    assert!(matches!(
        Segment::decode(&bytes),
        Err(SegmentError::Damaged)
    ));
    assert!(matches!(
        Segment::decode(b"SQLite format 3\0"),
        Err(SegmentError::NotASegment)
    ));
}

#[test]
fn a_segment_is_never_written_over_and_leaves_no_temporary_file() {
    let c = capture(1);
    write(c.dir.path(), &c.segment).unwrap();
    let again = write(c.dir.path(), &c.segment);
    assert!(matches!(again, Err(SegmentError::Io(e)) if e.kind() == io::ErrorKind::AlreadyExists));
    let leftovers: Vec<_> = std::fs::read_dir(c.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn pages_out_of_order_or_of_the_wrong_size_are_not_written() {
    let mut c = capture(1);
    assert!(c.segment.pages.len() > 1);
    c.segment.pages.reverse();
    assert!(matches!(
        c.segment.encode(),
        Err(SegmentError::Malformed(_))
    ));
    c.segment.pages.sort_by_key(|(n, _)| *n);
    c.segment.pages[0].1.pop();
    assert!(matches!(
        c.segment.encode(),
        Err(SegmentError::Malformed(_))
    ));
}

#[test]
fn the_database_checksum_follows_changes_and_cuts_page_by_page() {
    let page = |b: u8| vec![b; 512];
    let (a, b, c) = (page(1), page(2), page(3));
    let mut hashes = PageHashes::of_pages([(1, a.as_slice()), (2, b.as_slice())]);
    let two = hashes.checksum();
    hashes.apply([(3, c.as_slice())], None);
    assert_ne!(hashes.checksum(), two);
    assert_eq!(hashes.page_count(), 3);
    hashes.apply([], Some(2));
    assert_eq!(
        hashes.checksum(),
        two,
        "cutting page 3 gives back the checksum of pages 1–2"
    );
    hashes.apply([(2, c.as_slice())], None);
    assert!(!hashes.unchanged(2, &b) && hashes.unchanged(2, &c));
    assert_eq!(
        hashes.checksum(),
        PageHashes::of_pages([(1, a.as_slice()), (2, c.as_slice())]).checksum()
    );
}
