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
