//! The backup reads one pinned snapshot twice at once: the pages it stores
//! and the integrity check it runs are of the same state of the live
//! database, while a writer keeps committing; and nothing but the
//! compressed file is written.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::Utc;
use flate2::read::MultiGzDecoder;
use rusqlite::Connection;

use nexus_domain::{BackupId, BackupType, CreatedBy};
use nexus_engine::pinned::{self, Pinning};
use nexus_engine::{BackupPlan, EngineError, Event, Observer, compress, snapshot};

/// A WAL database whose `ledger` always sums to zero and whose `counter`
/// row always holds the number of `ledger` rows: a state mixed from two
/// commits shows.
fn ledger_database(path: &Path, rows: i64) {
    let conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch(
        "CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL, memo TEXT NOT NULL);
         CREATE INDEX ledger_memo ON ledger (memo);
         CREATE TABLE counter (n INTEGER NOT NULL);",
    )
    .unwrap();
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO ledger (amount, memo)
         SELECT CASE i % 2 WHEN 0 THEN 7 ELSE -7 END, printf('entry %d %s', i, hex(randomblob(30))) FROM n",
        [rows * 2],
    )
    .unwrap();
    conn.execute("INSERT INTO counter SELECT COUNT(*) FROM ledger", [])
        .unwrap();
}

/// Sum of the ledger, its rows and the counter: `(0, n, n)` when whole.
fn state(conn: &Connection) -> (i64, i64, i64) {
    conn.query_row(
        "SELECT (SELECT SUM(amount) FROM ledger), (SELECT COUNT(*) FROM ledger), (SELECT n FROM counter)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

/// Commits balanced pairs with `busy_timeout` 0 until stopped; returns
/// the commits made and the lock errors met.
struct Writer {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<(u64, u64)>,
}

impl Writer {
    fn start(path: &Path) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let path = path.to_path_buf();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let conn = Connection::open(&path).unwrap();
            conn.busy_timeout(Duration::ZERO).unwrap();
            let (mut commits, mut locked) = (0u64, 0u64);
            while !flag.load(Ordering::Relaxed) {
                let result = conn.execute_batch(
                    "BEGIN IMMEDIATE;
                     INSERT INTO ledger (amount, memo) VALUES (5, 'pair ' || hex(randomblob(20)));
                     INSERT INTO ledger (amount, memo) VALUES (-5, 'pair ' || hex(randomblob(20)));
                     UPDATE counter SET n = n + 2;
                     COMMIT;",
                );
                match result {
                    Ok(()) => commits += 1,
                    Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                        locked += 1;
                        let _ = conn.execute_batch("ROLLBACK");
                    }
                    Err(e) => panic!("the writer failed: {e}"),
                }
            }
            (commits, locked)
        });
        Writer { stop, thread }
    }

    fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

fn pin(path: &Path) -> pinned::Pinned {
    match pinned::pin(path).unwrap() {
        Pinning::Pinned(p) => *p,
        Pinning::NotWal(mode) => panic!("not pinned: journal mode {mode}"),
        Pinning::Unavailable => panic!("not pinned: the WAL never held still"),
    }
}

fn pages_of(conn: &Connection, source: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    snapshot::each_page(conn, source, &mut |page| {
        out.extend_from_slice(page);
        Ok(())
    })
    .unwrap();
    out
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn open_copy(dir: &Path, bytes: &[u8]) -> Connection {
    static COPIES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COPIES.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("copy-{n}.db"));
    std::fs::write(&path, bytes).unwrap();
    Connection::open(path).unwrap()
}

struct Plan {
    source: PathBuf,
    root: PathBuf,
    id: BackupId,
    by: CreatedBy,
}

impl Plan {
    fn new(dir: &Path, source: PathBuf) -> Plan {
        Plan {
            source,
            root: dir.join("backups"),
            id: BackupId::new(BackupType::Manual, Utc::now().naive_utc(), 1),
            by: CreatedBy {
                id: None,
                username: "test".into(),
            },
        }
    }

    fn plan(&self) -> BackupPlan<'_> {
        BackupPlan {
            source: &self.source,
            backup_root: &self.root,
            id: &self.id,
            reserve_bytes: 0,
            description: None,
            created_by: &self.by,
            started_at: Utc::now(),
            compression: compress::CompressOptions::default(),
        }
    }
}

/// Records every file under the backup root at the moment the snapshot is
/// taken and when the compression reports progress.
#[derive(Default)]
struct FilesSeen {
    root: PathBuf,
    seen: Vec<PathBuf>,
}

impl FilesSeen {
    fn look(&mut self) {
        for entry in walk(&self.root) {
            if !self.seen.contains(&entry) {
                self.seen.push(entry);
            }
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

impl Observer for FilesSeen {
    fn event(&mut self, event: Event<'_>) -> Result<(), EngineError> {
        if matches!(event, Event::SnapshotTaken { .. } | Event::Progress(..)) {
            self.look();
        }
        Ok(())
    }
}

#[test]
fn the_bundled_sqlite_has_the_snapshot_and_page_table_options_compiled_in() {
    let conn = Connection::open_in_memory().unwrap();
    assert!(pinned::compiled_in(&conn).unwrap());
}

#[test]
fn both_connections_see_one_snapshot_while_a_writer_commits_between_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    ledger_database(&db, 5_000);
    let writer = Writer::start(&db);
    std::thread::sleep(Duration::from_millis(200));
    let pinned = pin(&db);
    assert_eq!(pinned.how, "snapshot");
    // The writer goes on committing while the two read.
    std::thread::sleep(Duration::from_millis(300));
    let seen_by_checker = state(&pinned.checker);
    let pages = pages_of(&pinned.reader, &db);
    let (commits, _) = writer.stop();
    let stored = open_copy(dir.path(), &pages);
    assert_eq!(state(&stored), seen_by_checker);
    assert_eq!(seen_by_checker.0, 0);
    assert_eq!(seen_by_checker.1, seen_by_checker.2);
    let live = state(&Connection::open(&db).unwrap());
    assert!(
        live.1 > seen_by_checker.1,
        "the writer committed after the pin ({commits} commits)"
    );
    snapshot::check_connection(&stored).unwrap();
}

#[test]
fn a_wal_nobody_has_written_to_is_shared_through_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("quiet.db");
    ledger_database(&db, 500);
    // The last connection closed: its WAL was checkpointed and removed.
    let pinned = pin(&db);
    assert_eq!(pinned.how, "database file");
    let pages = pages_of(&pinned.reader, &db);
    assert_eq!(pages, std::fs::read(&db).unwrap());
    assert_eq!(
        state(&pinned.checker),
        state(&open_copy(dir.path(), &pages))
    );
}

#[test]
fn a_backup_under_a_writer_stores_one_whole_state_and_writes_no_uncompressed_copy() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    ledger_database(&db, 40_000);
    let writer = Writer::start(&db);
    std::thread::sleep(Duration::from_millis(200));
    let plan = Plan::new(dir.path(), db.clone());
    let mut files = FilesSeen {
        root: plan.root.clone(),
        ..FilesSeen::default()
    };
    let outcome = nexus_engine::create_backup(&plan.plan(), &mut files).unwrap();
    let (commits, locked) = writer.stop();
    assert!(commits > 0);
    assert_eq!(locked, 0, "the writer met a lock");

    let raw = gunzip(&outcome.path);
    assert_eq!(raw.len() as u64, outcome.original_size);
    let stored = open_copy(dir.path(), &raw);
    snapshot::check_connection(&stored).unwrap();
    let (sum, rows, counter) = state(&stored);
    assert_eq!((sum, rows), (0, counter));
    assert!((1..=12).contains(&outcome.compression_level));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&outcome.manifest_path).unwrap()).unwrap();
    assert_eq!(manifest["compression_level"], outcome.compression_level);

    let temporary: Vec<_> = files
        .seen
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "db"))
        .collect();
    assert!(
        temporary.is_empty(),
        "an uncompressed copy was written: {temporary:?}"
    );
}

/// Overwrites a page in the middle of the file (one of the rows written
/// first, which the writer never touches again) with garbage.
fn damage_a_page(db: &Path) {
    let conn = Connection::open(db).unwrap();
    conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
    let (pages, page_size): (i64, i64) = conn
        .query_row(
            "SELECT * FROM pragma_page_count, pragma_page_size",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    drop(conn);
    let mut bytes = std::fs::read(db).unwrap();
    let at = (pages / 2 * page_size) as usize;
    bytes[at..at + page_size as usize].fill(0xA5);
    std::fs::write(db, bytes).unwrap();
}

#[test]
fn a_damaged_page_in_the_live_database_fails_the_check_on_the_pinned_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    ledger_database(&db, 20_000);
    damage_a_page(&db);
    let writer = Writer::start(&db);
    std::thread::sleep(Duration::from_millis(100));
    let plan = Plan::new(dir.path(), db.clone());
    let err = nexus_engine::create_backup(&plan.plan(), &mut nexus_engine::Quiet).unwrap_err();
    writer.stop();
    assert_eq!(err.code(), "database_corrupt", "{err}");
    assert!(
        walk(&plan.root)
            .iter()
            .all(|p| !p.to_string_lossy().ends_with(".db.gz")),
        "a backup was published"
    );
}

#[test]
fn a_database_not_in_wal_mode_is_copied_once_and_backed_up_all_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rollback.db");
    ledger_database(&db, 2_000);
    Connection::open(&db)
        .unwrap()
        .pragma_update(None, "journal_mode", "DELETE")
        .unwrap();
    assert!(matches!(pinned::pin(&db).unwrap(), Pinning::NotWal(mode) if mode == "delete"));
    let plan = Plan::new(dir.path(), db.clone());
    let outcome = nexus_engine::create_backup(&plan.plan(), &mut nexus_engine::Quiet).unwrap();
    let stored = open_copy(dir.path(), &gunzip(&outcome.path));
    assert_eq!(state(&stored), state(&Connection::open(&db).unwrap()));
}
