//! Writing a verified copy into the live database through SQLite's online
//! backup API, as one write transaction on the live database.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::RestoreError;
use crate::EngineError;
use crate::fsutil;

/// How [`apply`] went.
#[derive(Debug, Clone)]
pub struct Applied {
    pub pages: u64,
    pub bytes: u64,
    /// The write transaction: the application's writers waited this long.
    pub duration: Duration,
    /// Moving the WAL into the database file afterwards, which blocks no one.
    pub checkpoint: Duration,
}

/// [`apply`] failed. SQLite rolls back a write that did not complete, so
/// usually the live database is as it was; `live_changed` says when the new
/// content may have been committed all the same (its schema cookie moved).
#[derive(Debug)]
pub struct ApplyFailure {
    pub error: RestoreError,
    pub live_changed: bool,
}

/// Writes the verified copy `source` into the live database `live`, in one
/// write transaction: readers go on reading the old content until it
/// commits; writers wait for it. Waits up to `lock_wait` for the
/// application's write transactions to let go of the lock.
pub fn apply(source: &Path, live: &Path, lock_wait: Duration) -> Result<Applied, ApplyFailure> {
    let unchanged = |error: RestoreError| ApplyFailure {
        error,
        live_changed: false,
    };
    let sqlite = sqlite_error;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let src = Connection::open_with_flags(source, flags)
        .map_err(sqlite("cannot open the restore copy"))
        .map_err(unchanged)?;
    if !live.exists() {
        return Err(unchanged(
            EngineError::DatabaseNotFound {
                path: live.to_path_buf(),
            }
            .into(),
        ));
    }
    let mut dst = Connection::open_with_flags(live, flags)
        .map_err(sqlite("cannot open the live database"))
        .map_err(unchanged)?;
    dst.busy_timeout(Duration::from_millis(500))
        .map_err(sqlite("cannot configure the live database connection"))
        .map_err(unchanged)?;
    let (before, wal) = prepare_live(&src, &dst).map_err(unchanged)?;

    let started = Instant::now();
    let result = {
        let backup = Backup::new(&src, &mut dst)
            .map_err(sqlite("cannot start writing into the live database"))
            .map_err(unchanged)?;
        loop {
            match backup.step(-1) {
                Ok(StepResult::Done) => break Ok(backup.progress().pagecount),
                Ok(_) if started.elapsed() < lock_wait => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(_) => {
                    break Err(RestoreError::from(EngineError::Busy(format!(
                        "the live database stayed locked by its application for {lock_wait:?}"
                    ))));
                }
                Err(e) => break Err(sqlite("cannot write into the live database")(e)),
            }
        }
        // Dropping the backup finishes it: an incomplete write is rolled back.
    };
    match result {
        Ok(pages) => {
            let duration = started.elapsed();
            if wal {
                truncate_wal(&dst);
            }
            let page_size: i64 = dst
                .query_row("PRAGMA page_size", [], |r| r.get(0))
                .unwrap_or(0);
            Ok(Applied {
                pages: pages.max(0) as u64,
                bytes: (pages.max(0) as u64) * page_size.max(0) as u64,
                duration,
                checkpoint: started.elapsed() - duration,
            })
        }
        Err(mut error) => {
            if let RestoreError::Engine(EngineError::InsufficientDiskSpace {
                required,
                available,
            }) = &mut error
            {
                // SQLite only says the disk is full: tell how full, once the
                // WAL has given back what the failed write took.
                if wal {
                    truncate_wal(&dst);
                }
                *required = std::fs::metadata(source).map_or(0, |m| m.len());
                *available = fsutil::available_bytes(live.parent().unwrap_or(live)).unwrap_or(0);
            }
            let after = schema_version(&dst).ok();
            if wal {
                truncate_wal(&dst);
            }
            Err(ApplyFailure {
                error,
                live_changed: after != Some(before),
            })
        }
    }
}

/// Checks that the copy can go into the live database; returns the live
/// database's schema cookie and whether it is in WAL mode.
fn prepare_live(src: &Connection, dst: &Connection) -> Result<(i64, bool), RestoreError> {
    let err = sqlite_error("cannot read the settings of the databases");
    let journal_mode: String = dst
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(&err)?;
    let page_size = |c: &Connection| c.query_row("PRAGMA page_size", [], |r| r.get::<_, u32>(0));
    let (backup, live) = (page_size(src).map_err(&err)?, page_size(dst).map_err(&err)?);
    let wal = journal_mode.eq_ignore_ascii_case("wal");
    if wal && backup != live {
        return Err(RestoreError::PageSizeMismatch { backup, live });
    }
    Ok((schema_version(dst).map_err(&err)?, wal))
}

fn sqlite_error(context: &'static str) -> impl Fn(rusqlite::Error) -> RestoreError {
    move |e| EngineError::sqlite(context, e).into()
}

fn schema_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA schema_version", [], |r| r.get(0))
}

/// Moves the WAL into the database file and truncates it, without making
/// anyone wait: the copy is a passive checkpoint, which takes no lock the
/// application needs (otherwise the application's next commit would run
/// it, and wait for it); the truncation only happens if nobody is using the
/// WAL at that moment, else SQLite reuses the WAL from its start later.
fn truncate_wal(conn: &Connection) {
    let _ = conn.busy_timeout(Duration::ZERO);
    for mode in ["PASSIVE", "TRUNCATE"] {
        let result = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        });
        match result {
            Ok((0, log, done)) if log == done => {}
            Ok((_, log, done)) => {
                tracing::debug!(
                    mode,
                    log,
                    done,
                    "the WAL is in use; SQLite checkpoints it later"
                );
                return;
            }
            Err(e) => {
                tracing::debug!(mode, error = %e, "checkpoint after the restore did not run");
                return;
            }
        }
    }
}
