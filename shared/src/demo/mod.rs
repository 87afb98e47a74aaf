//! Generator of a realistic demo `itsm_nexus.db`, the SQLite database of the
//! ITSM system that Nexus Backup protects.
//!
//! It is used by the demo setup, the end-to-end tests and the benchmarks, which
//! need a database that looks like the real one: users, incidents, changes,
//! assets and audit logs, with text mixing Japanese and English and timestamps
//! spread over the last two years. The content is drawn from a random number
//! generator seeded with the requested size, so a given size always yields the
//! same rows (only shifted in time with the day of generation).
//!
//! Generation is built for speed (1 GB in about 11 s in a release build on
//! two cores, about 20 s in a debug build): one connection, no journal and no
//! `fsync` during the bulk load, one big transaction, prepared statements,
//! rows written in index-friendly order, and the indexes on random keys built
//! after the load. Memory stays bounded (about 150 MB: SQLite's page cache and
//! sorter) whatever the size. The finished file is switched to WAL mode, like
//! the production database.

mod load;
mod text;
mod vocabulary;

use load::build;
use text::DAY;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// How many rows of each table a generated database holds, and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoStats {
    /// Size of the database file in bytes once generation finished.
    pub bytes: u64,
    /// Rows in `incidents`.
    pub incidents: u64,
    /// Rows in `changes`.
    pub changes: u64,
    /// Rows in `assets`.
    pub assets: u64,
    /// Rows in `users`.
    pub users: u64,
    /// Rows in `audit_logs`.
    pub audit_logs: u64,
}

/// Why a demo database could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// SQLite refused an operation while building the database.
    #[error("demo database: sqlite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file system refused an operation (the file exists already, the
    /// folder cannot be created, the disk is full, ...).
    #[error("demo database: i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Generates a new database at `path` of about `target_bytes` (within ~10%),
/// in WAL mode. Fails if `path` exists.
///
/// The size is met within 2% from 1 MB up; the empty schema alone takes
/// about 100 KB, so much smaller targets come out larger.
///
/// The file is created exclusively before anything is written, so two callers
/// can never write into the same file; on failure the partial file is removed.
pub fn generate(path: &Path, target_bytes: u64) -> Result<DemoStats, DemoError> {
    generate_until(path, target_bytes, today_utc_midnight())
}

/// Generates the database only if `path` does not exist yet. Safe when two
/// processes call it at once: the database is built into a unique temp file in
/// the same folder, then hard-linked to `path` (if another process won the
/// race, the temp file is simply removed), and the temp file is removed.
/// Creates the parent folder if needed. Returns `Ok(true)` if it generated.
pub fn ensure(path: &Path, target_bytes: u64) -> Result<bool, DemoError> {
    if path.try_exists()? {
        return Ok(false);
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let temp = temp_path_beside(path);
    let linked = generate(&temp, target_bytes).and_then(|_| link_into_place(&temp, path));
    remove_db_files(&temp);
    linked
}

// ---------------------------------------------------------------------------
// File handling

/// Counts temp files made by this process, so that threads never collide.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name in the folder of `path` that no other process or thread uses.
fn temp_path_beside(path: &Path) -> PathBuf {
    let name = path.file_name().map_or_else(
        || "itsm_nexus.db".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let unique = format!(
        ".{name}.tmp-{}-{}-{nanos}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    path.with_file_name(unique)
}

/// Hard-links the finished temp file to `path`; `Ok(false)` if `path` exists.
fn link_into_place(temp: &Path, path: &Path) -> Result<bool, DemoError> {
    match fs::hard_link(temp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Removes a database file and the WAL side files SQLite may have left.
fn remove_db_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        // Best effort: the side files usually do not exist.
        let _ = fs::remove_file(PathBuf::from(name));
    }
}

/// Midnight UTC of today, as Unix seconds: the end of the generated history.
fn today_utc_midnight() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(DAY) * DAY
}

/// [`generate`] with the history ending at `end` (Unix seconds).
fn generate_until(path: &Path, target_bytes: u64, end: i64) -> Result<DemoStats, DemoError> {
    // Creating the file exclusively makes "fails if `path` exists" race-free;
    // SQLite treats an empty file as an empty database.
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    let built = build(path, target_bytes, end);
    if built.is_err() {
        remove_db_files(path);
    }
    built
}

#[cfg(test)]
mod tests {
    use super::text::format_ts;
    use super::*;
    use rusqlite::Connection;

    const MB: u64 = 1024 * 1024;

    fn open(path: &Path) -> Connection {
        Connection::open(path).unwrap()
    }

    fn count(conn: &Connection, table: &str) -> u64 {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        u64::try_from(n).unwrap()
    }

    #[test]
    fn a_generated_database_has_every_table_and_passes_integrity_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm_nexus.db");
        let stats = generate(&path, 2 * MB).unwrap();

        let conn = open(&path);
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        for (table, rows) in [
            ("users", stats.users),
            ("incidents", stats.incidents),
            ("changes", stats.changes),
            ("assets", stats.assets),
            ("audit_logs", stats.audit_logs),
        ] {
            assert!(rows > 0, "{table} is empty");
            assert_eq!(count(&conn, table), rows, "{table}");
        }
        assert!(stats.audit_logs >= 2 * stats.incidents);
    }

    #[test]
    fn the_size_is_close_to_the_target() {
        let dir = tempfile::tempdir().unwrap();
        for target in [MB, 3 * MB, 5 * MB] {
            let path = dir.path().join(format!("{target}.db"));
            let stats = generate(&path, target).unwrap();
            let on_disk = fs::metadata(&path).unwrap().len();
            assert_eq!(stats.bytes, on_disk);
            let ratio = on_disk as f64 / target as f64;
            assert!((0.95..1.1).contains(&ratio), "{on_disk} for {target}");
        }
    }

    #[test]
    fn the_database_is_left_in_wal_mode_without_side_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm_nexus.db");
        generate(&path, MB).unwrap();
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["itsm_nexus.db"]);
        let mode: String = open(&path)
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn generate_refuses_to_overwrite_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm_nexus.db");
        fs::write(&path, b"precious").unwrap();
        let err = generate(&path, MB).unwrap_err();
        assert!(
            matches!(&err, DemoError::Io(e) if e.kind() == std::io::ErrorKind::AlreadyExists),
            "{err}"
        );
        assert_eq!(fs::read(&path).unwrap(), b"precious");
    }

    #[test]
    fn the_same_size_gives_the_same_content() {
        let dir = tempfile::tempdir().unwrap();
        let end = 1_750_000_000 / DAY * DAY;
        let digest = |name: &str| {
            let path = dir.path().join(name);
            generate_until(&path, MB, end).unwrap();
            open(&path)
                .query_row(
                    "SELECT group_concat(ticket_no || title || description || status || created_at)
                     FROM incidents",
                    [],
                    |r| r.get::<_, String>(0),
                )
                .unwrap()
        };
        assert_eq!(digest("a.db"), digest("b.db"));
    }

    #[test]
    fn text_mixes_japanese_and_english() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm_nexus.db");
        generate(&path, MB).unwrap();
        let conn = open(&path);
        let titles: Vec<String> = conn
            .prepare("SELECT title FROM incidents")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let japanese = titles.iter().filter(|t| !t.is_ascii()).count();
        let english = titles.len() - japanese;
        assert!(
            japanese > titles.len() / 2,
            "{japanese} of {}",
            titles.len()
        );
        assert!(english > titles.len() / 10, "{english} of {}", titles.len());
        let long: i64 = conn
            .query_row(
                "SELECT count(*) FROM incidents WHERE length(description) >= 100",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(long, titles.len() as i64);
    }

    #[test]
    fn ticket_numbers_are_sequential_and_well_formed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm_nexus.db");
        let stats = generate(&path, MB).unwrap();
        let conn = open(&path);
        let (first, last): (String, String) = conn
            .query_row(
                "SELECT min(ticket_no), max(ticket_no) FROM incidents",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(first, "INC-000001");
        assert_eq!(last, format!("INC-{:06}", stats.incidents));
        let change: String = conn
            .query_row("SELECT change_no FROM changes WHERE id = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(change, "CHG-000001");
    }

    #[test]
    fn timestamps_span_about_two_years_and_never_lie_in_the_future() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm_nexus.db");
        generate(&path, 2 * MB).unwrap();
        let conn = open(&path);
        let (days, future): (f64, i64) = conn
            .query_row(
                "SELECT julianday(max(created_at)) - julianday(min(created_at)),
                        sum(max(created_at, updated_at, coalesce(resolved_at, ''))
                            > datetime('now'))
                 FROM incidents",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!((680.0..=731.0).contains(&days), "{days} days");
        assert_eq!(future, 0);
        let bad: i64 = conn
            .query_row(
                "SELECT count(*) FROM audit_logs WHERE datetime(created_at) IS NULL
                 OR created_at > datetime('now')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(bad, 0);
    }

    #[test]
    fn timestamps_are_formatted_like_sqlite_datetime() {
        let mut out = String::new();
        for unix in [0, 951_782_400, 1_709_164_799, 4_102_444_800, -86_400] {
            format_ts(&mut out, unix);
            let expected = chrono::DateTime::from_timestamp(unix, 0)
                .unwrap()
                .format("%Y-%m-%d %H:%M:%S")
                .to_string();
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn ensure_creates_missing_folders_and_reports_that_it_generated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/itsm_nexus.db");
        assert!(ensure(&path, MB).unwrap());
        assert!(count(&open(&path), "incidents") > 0);
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["itsm_nexus.db"], "temp files left behind");
    }

    #[test]
    fn ensure_does_not_touch_an_existing_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm_nexus.db");
        fs::write(&path, b"not regenerated").unwrap();
        assert!(!ensure(&path, MB).unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"not regenerated");
    }

    #[test]
    fn two_concurrent_ensures_produce_one_valid_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo/itsm_nexus.db");
        let generated: Vec<bool> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..2).map(|_| s.spawn(|| ensure(&path, MB))).collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap().unwrap())
                .collect()
        });
        assert_eq!(generated.iter().filter(|g| **g).count(), 1, "{generated:?}");
        let check: String = open(&path)
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let entries = fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(entries, 1, "temp files left behind");
    }

    /// Measures the speed: `cargo test --release -p nexus-shared --lib
    /// demo::tests::a_gigabyte -- --ignored --nocapture`
    #[test]
    #[ignore = "benchmark: generates 1 GB"]
    fn a_gigabyte_is_generated_in_under_a_minute() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm_nexus.db");
        let started = std::time::Instant::now();
        let stats = generate(&path, 1024 * MB).unwrap();
        let elapsed = started.elapsed();
        eprintln!("{stats:?} in {elapsed:?}");
        assert!(elapsed.as_secs() < 60);
    }
}
