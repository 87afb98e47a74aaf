//! Connections to the catalog, opened once and reused (r2d2): readers come
//! from a pool, and every write of this process goes through one writer
//! connection, so concurrent writers queue here, in turn, instead of
//! sleeping in SQLite's busy handler. Writes of other processes (the
//! worker, the CLI) still meet this one in SQLite's lock, with the busy
//! timeout below.

use std::path::Path;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::OpenFlags;
use rusqlite::config::DbConfig;
use scheduled_thread_pool::ScheduledThreadPool;

/// Readers open at most at once; more wait for one to come back.
const READERS: u32 = 8;
/// How long a call waits for a connection of its kind.
const WAIT: Duration = Duration::from_secs(30);
/// How long SQLite waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// One thread for every pool's upkeep, however many catalogs a process
/// opens (r2d2 would start three per pool).
static UPKEEP: LazyLock<Arc<ScheduledThreadPool>> = LazyLock::new(|| {
    Arc::new(
        ScheduledThreadPool::builder()
            .num_threads(1)
            .thread_name_pattern("catalog-pool-{}")
            .build(),
    )
});

pub(super) type Connection = PooledConnection<SqliteConnectionManager>;

#[derive(Debug, Clone)]
pub(super) struct Pools {
    readers: Pool<SqliteConnectionManager>,
    writer: Pool<SqliteConnectionManager>,
}

impl Pools {
    pub(super) fn open(path: &Path) -> Result<Pools, r2d2::Error> {
        let manager = || {
            SqliteConnectionManager::file(path)
                .with_flags(
                    OpenFlags::SQLITE_OPEN_READ_WRITE
                        | OpenFlags::SQLITE_OPEN_CREATE
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .with_init(|conn| {
                    // Without the planner's stability guarantee, SQLite
                    // plans `LIMIT ?` for the value bound, and prepares a
                    // cached statement again each time it is bound: 7% of
                    // the API's time under load went there.
                    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
                    conn.busy_timeout(BUSY_TIMEOUT)?;
                    conn.pragma_update(None, "foreign_keys", "ON")?;
                    conn.pragma_update(None, "synchronous", "NORMAL")
                })
        };
        let pool = |size: u32| {
            Pool::builder()
                .max_size(size)
                .min_idle(Some(1))
                .connection_timeout(WAIT)
                // An open SQLite connection does not go stale.
                .test_on_check_out(false)
                .thread_pool(UPKEEP.clone())
                .build(manager())
        };
        Ok(Pools {
            writer: pool(1)?,
            readers: pool(READERS)?,
        })
    }

    pub(super) fn reader(&self) -> Result<Connection, r2d2::Error> {
        self.readers.get()
    }

    pub(super) fn writer(&self) -> Result<Connection, r2d2::Error> {
        self.writer.get()
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::Pools;

    #[test]
    fn the_bundled_sqlite_keeps_no_memory_statistics_behind_a_global_mutex() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
        let options: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
    }

    #[test]
    fn a_cached_statement_bound_again_is_not_prepared_again() {
        let dir = tempfile::tempdir().unwrap();
        let pools = Pools::open(&dir.path().join("catalog.db")).unwrap();
        let conn = pools.reader().unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3);")
            .unwrap();
        let sql = "SELECT x FROM t ORDER BY x LIMIT ?1 OFFSET ?2";
        for (limit, offset) in [(1, 0), (2, 1), (50, 0)] {
            let mut stmt = conn.prepare_cached(sql).unwrap();
            let rows: Vec<i64> = stmt
                .query_map([limit, offset], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(rows.len(), (3 - offset).min(limit) as usize);
            assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0);
        }
    }
}
