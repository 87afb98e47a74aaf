//! Writing a decompressed copy into the live database through SQLite's
//! online backup API, as one write transaction on the live database, while
//! the copy's `integrity_check` runs beside it: every page but the last is
//! written while the check reads, and the transaction commits only once
//! the check has passed. Until then the application reads the old content,
//! and a failed check rolls the write back, leaving the live database as
//! it was. The check and the write each take a core; one after the other
//! they took twice as long.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::copy::check_copy;
use super::{DecompressedCopy, RestoreError};
use crate::EngineError;
use crate::fsutil;

/// How [`apply`] went.
#[derive(Debug, Clone)]
pub struct Applied {
    pub pages: u64,
    pub bytes: u64,
    /// The copy's `integrity_check`, beside the write.
    pub copy_check: Duration,
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

/// Writes `copy` into the live database `live`, in one write transaction
/// that commits only if the copy's `integrity_check`, run meanwhile on
/// another thread, passes: readers go on reading the old content until it
/// commits; writers wait for it (for the longer of the write and the
/// check). Waits up to `lock_wait` for the application's write
/// transactions to let go of the lock.
pub fn apply(
    copy: &DecompressedCopy,
    live: &Path,
    lock_wait: Duration,
) -> Result<Applied, ApplyFailure> {
    let started = Instant::now();
    std::thread::scope(|scope| {
        let check = std::thread::Builder::new()
            .name("restore-check".into())
            .spawn_scoped(scope, || {
                let result = check_copy(copy.path());
                (result, started.elapsed())
            })
            .map_err(|e| ApplyFailure {
                error: EngineError::io("cannot start the copy's check", copy.path(), e).into(),
                live_changed: false,
            })?;
        write(copy.path(), live, lock_wait, || {
            check
                .join()
                .unwrap_or_else(|_| (Err(panicked()), started.elapsed()))
        })
    })
}

fn panicked() -> RestoreError {
    EngineError::Busy("the copy's integrity check stopped unexpectedly".into()).into()
}

/// The write of [`apply`]; `checked` waits for the copy's check and is
/// called before the commit.
fn write(
    source: &Path,
    live: &Path,
    lock_wait: Duration,
    checked: impl FnOnce() -> (Result<(), RestoreError>, Duration),
) -> Result<Applied, ApplyFailure> {
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
    let (before, wal, pages) = prepare_live(&src, &dst).map_err(unchanged)?;

    let started = Instant::now();
    let copy_check;
    let result = {
        let backup = Backup::new(&src, &mut dst)
            .map_err(sqlite("cannot start writing into the live database"))
            .map_err(unchanged)?;
        // Every page but the last: the transaction stays open, uncommitted.
        let head = pages.saturating_sub(1);
        let step = |pages: i32| loop {
            match backup.step(pages) {
                Ok(StepResult::Done) => break Ok(true),
                Ok(StepResult::More) => break Ok(false),
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
        };
        let written = if head > 0 {
            step(i32::try_from(head).unwrap_or(i32::MAX))
        } else {
            Ok(false)
        };
        let (check, took) = checked();
        copy_check = took;
        match (written, check) {
            (Err(e), _) | (Ok(false), Err(e)) => Err(e),
            (Ok(false), Ok(())) => step(-1).map(|_| backup.progress().pagecount),
            // Done before the check (the copy changed size under us): the
            // check's verdict decides whether it is put back.
            (Ok(true), check) => check.map(|()| backup.progress().pagecount),
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
                copy_check,
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
/// database's schema cookie, whether it is in WAL mode, and the copy's
/// page count.
fn prepare_live(src: &Connection, dst: &Connection) -> Result<(i64, bool, u64), RestoreError> {
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
    let pages: i64 = src
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .map_err(&err)?;
    Ok((
        schema_version(dst).map_err(&err)?,
        wal,
        u64::try_from(pages).unwrap_or(0),
    ))
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
