use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use super::*;
use crate::compress::{self, CompressOptions, sha256_file};
use crate::reading::Expected;

/// A WAL database with `rows` rows in `t`, like the ITSM one.
fn database(path: &Path, rows: i64) {
    let conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .unwrap();
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO t (body) SELECT printf('row %d %s', i, hex(randomblob(40))) FROM n",
        [rows],
    )
    .unwrap();
}

fn rows(conn: &Connection) -> i64 {
    conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
        .unwrap()
}

/// A `.db.gz` of a database with `rows` rows, and what its record says.
struct Fixture {
    dir: tempfile::TempDir,
    gz: PathBuf,
    checksum: Checksum,
    raw_checksum: Checksum,
    size: u64,
}

impl Fixture {
    fn new(rows: i64) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("source.db");
        database(&db, rows);
        let gz = dir.path().join("backup.db.gz");
        let c = compress::gzip_file(&db, &gz, CompressOptions::default(), &mut |_| Ok(())).unwrap();
        Fixture {
            dir,
            gz,
            checksum: c.gz_sha256,
            raw_checksum: c.raw_sha256,
            size: c.raw_size,
        }
    }

    fn expected(&self) -> Expected {
        Expected {
            file_size: None,
            checksum: self.checksum.clone(),
            raw_checksum: Some(self.raw_checksum.clone()),
            original_size: Some(self.size),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

#[test]
fn a_sound_backup_is_decompressed_and_checked_and_its_copy_goes_away_with_it() {
    let f = Fixture::new(2_000);
    let copy = verify_into(&f.gz, &f.expected(), &f.path("copy.db")).unwrap();
    assert_eq!(copy.bytes(), f.size);
    assert_eq!(rows(&Connection::open(copy.path()).unwrap()), 2_000);
    drop(copy);
    assert!(!f.path("copy.db").exists());
}

#[test]
fn a_flipped_byte_is_a_checksum_mismatch_and_leaves_no_copy() {
    let f = Fixture::new(2_000);
    let mut bytes = std::fs::read(&f.gz).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&f.gz, bytes).unwrap();

    let err = verify_into(&f.gz, &f.expected(), &f.path("copy.db")).unwrap_err();

    assert_eq!(err.code(), "checksum_mismatch", "{err}");
    assert!(!f.path("copy.db").exists());
}

#[test]
fn content_that_differs_from_the_record_is_corrupt_and_a_missing_file_is_missing() {
    let f = Fixture::new(500);
    let wrong = Expected {
        raw_checksum: Some(Checksum::from_digest([0u8; 32])),
        ..f.expected()
    };
    let err = verify_into(&f.gz, &wrong, &f.path("copy.db")).unwrap_err();
    assert_eq!(err.code(), "backup_corrupt", "{err}");

    let err = verify_into(&f.path("gone.db.gz"), &f.expected(), &f.path("copy.db")).unwrap_err();
    assert_eq!(err.code(), "backup_missing", "{err}");
}

#[test]
fn restoring_to_a_path_makes_a_new_file_and_never_overwrites() {
    let f = Fixture::new(1_000);
    let dest = f.path("inspect.db");

    let restored = restore_to_path(&f.gz, &f.expected(), &dest).unwrap();

    assert_eq!(restored.bytes, f.size);
    assert_eq!(sha256_file(&dest).unwrap().1, f.raw_checksum);
    let err = restore_to_path(&f.gz, &f.expected(), &dest).unwrap_err();
    assert_eq!(err.code(), "destination_exists");
    let leftovers: Vec<_> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("restore-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_open_connection_sees_the_old_content_until_the_apply_commits_then_the_new() {
    let f = Fixture::new(1_000);
    let live = f.path("live.db");
    database(&live, 3_000);
    let copy = decompress_into(&f.gz, &f.expected(), &f.path("copy.db")).unwrap();
    let app = Connection::open(&live).unwrap();
    app.execute_batch("BEGIN").unwrap();
    assert_eq!(rows(&app), 3_000);

    let applied = apply(&copy, &live, Duration::from_secs(5)).unwrap();

    assert!(applied.pages > 0);
    assert!(applied.copy_check > Duration::ZERO);
    assert_eq!(rows(&app), 3_000, "a read transaction keeps its snapshot");
    app.execute_batch("COMMIT").unwrap();
    assert_eq!(rows(&app), 1_000, "the next one sees the restored content");
    app.execute("INSERT INTO t (body) VALUES ('after')", [])
        .unwrap();
    assert_eq!(rows(&app), 1_001, "the application goes on writing");
    check_live(&live).unwrap();
}

#[test]
fn an_apply_that_cannot_get_the_write_lock_leaves_the_live_database_unchanged() {
    let f = Fixture::new(1_000);
    let live = f.path("live.db");
    database(&live, 3_000);
    let copy = decompress_into(&f.gz, &f.expected(), &f.path("copy.db")).unwrap();
    let writer = Connection::open(&live).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();

    let failure = apply(&copy, &live, Duration::from_millis(300)).unwrap_err();

    assert_eq!(failure.error.code(), "database_busy", "{}", failure.error);
    assert!(!failure.live_changed);
    writer.execute_batch("COMMIT").unwrap();
    assert_eq!(rows(&writer), 3_000);
}

/// A `.db.gz` whose record matches it byte for byte but whose database
/// fails `integrity_check`: a leaf page of `t` is zeroed.
fn damaged_backup() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("damaged.db");
    database(&db, 2_000);
    let page_size = 4096;
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 4 * page_size, "the table spans several pages");
    bytes[2 * page_size..3 * page_size].fill(0);
    std::fs::write(&db, bytes).unwrap();
    let gz = dir.path().join("damaged.db.gz");
    let c = compress::gzip_file(&db, &gz, CompressOptions::default(), &mut |_| Ok(())).unwrap();
    Fixture {
        dir,
        gz,
        checksum: c.gz_sha256,
        raw_checksum: c.raw_sha256,
        size: c.raw_size,
    }
}

#[test]
fn a_copy_that_fails_its_integrity_check_is_never_committed_into_the_live_database() {
    let f = damaged_backup();
    let live = f.path("live.db");
    database(&live, 3_000);
    let before = sha256_file(&live).unwrap().1;
    let copy = decompress_into(&f.gz, &f.expected(), &f.path("copy.db")).unwrap();

    let failure = apply(&copy, &live, Duration::from_secs(5)).unwrap_err();

    assert_eq!(failure.error.code(), "backup_corrupt", "{}", failure.error);
    assert!(
        failure.error.to_string().contains("integrity_check"),
        "{}",
        failure.error
    );
    assert!(!failure.live_changed);
    let app = Connection::open(&live).unwrap();
    assert_eq!(rows(&app), 3_000, "the live database kept its content");
    drop(app);
    check_live(&live).unwrap();
    assert_eq!(sha256_file(&live).unwrap().1, before, "not a byte changed");
    let err = verify_into(&f.gz, &f.expected(), &f.path("again.db")).unwrap_err();
    assert_eq!(
        err.code(),
        "backup_corrupt",
        "verify_into checks it too: {err}"
    );
    assert!(!f.path("again.db").exists());
}

#[test]
fn the_mapped_live_check_survives_the_application_growing_and_shrinking_the_file_meanwhile() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    database(&live, 60_000);
    let (checking, shrinks) = (AtomicBool::new(true), AtomicUsize::new(0));
    let checks = std::thread::scope(|scope| {
        let application = scope.spawn(|| {
            let conn = Connection::open(&live).unwrap();
            conn.busy_timeout(Duration::from_secs(5)).unwrap();
            while checking.load(Ordering::Relaxed) {
                // Grow the file, then give the pages back: VACUUM writes a
                // smaller database and the checkpoints truncate the file
                // to it as soon as no reader holds an older snapshot.
                conn.execute_batch(
                    "INSERT INTO t (body) SELECT body FROM t WHERE id % 3 = 0;
                     DELETE FROM t WHERE id > 60000;
                     VACUUM;",
                )
                .unwrap();
                for mode in ["PASSIVE", "TRUNCATE"] {
                    let _: i64 = conn
                        .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| r.get(0))
                        .unwrap();
                }
                shrinks.fetch_add(1, Ordering::Relaxed);
            }
        });
        let mut checks = 0;
        while (checks < 20 || shrinks.load(Ordering::Relaxed) < 5) && !application.is_finished() {
            check_live(&live).unwrap();
            checks += 1;
        }
        checking.store(false, Ordering::Relaxed);
        application.join().unwrap();
        checks
    });
    // Still alive (a page pulled away under the map is a SIGBUS), every
    // check passed, and the file shrank under them again and again.
    let shrinks = shrinks.into_inner();
    assert!(
        checks >= 20 && shrinks >= 5,
        "{checks} checks, {shrinks} shrinks"
    );
}
