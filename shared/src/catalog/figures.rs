//! The figures `GET /metrics` serves, read from the catalog at scrape time
//! so they hold after a restart and whichever process (worker, CLI) did the
//! work. One query per group of figures, all in one read transaction so a
//! scrape sees one moment; each query aggregates in SQLite, so a catalog of
//! tens of thousands of backups costs a few milliseconds.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::{Catalog, CatalogError, OffsiteState, Result, time};
use crate::domain::DiskState;
use crate::domain::{BackupStatus, BackupType};

/// Upper bounds (seconds) of the backup-duration histogram's buckets.
pub const DURATION_BUCKETS: [f64; 12] = [
    1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0,
];

/// What the catalog says at one moment.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Backup records per type and status.
    pub backups: Vec<(BackupType, BackupStatus, u64)>,
    /// The newest successful backup of each type that has one.
    pub newest_success: Vec<(BackupType, NewestSuccess)>,
    /// How long the successful backups of each type took.
    pub durations: Vec<(BackupType, Durations)>,
    pub verifications: VerificationCounts,
    /// Finished restores per status.
    pub restores: Vec<(BackupStatus, u64)>,
    /// Offsite copies per state, every state listed.
    pub offsite: Vec<(OffsiteState, u64)>,
    /// The last disk check's level and whether it paused automatic backups.
    pub disk: DiskState,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewestSuccess {
    pub completed_at: DateTime<Utc>,
    pub file_size: u64,
}

/// A histogram of durations: `cumulative[i]` backups took at most
/// `DURATION_BUCKETS[i]` seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Durations {
    pub count: u64,
    pub sum_secs: f64,
    pub cumulative: Vec<u64>,
}

/// Finished verifications, and the backups whose latest one failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerificationCounts {
    pub pass: u64,
    pub fail: u64,
    pub backups_failing: u64,
}

impl Catalog {
    pub fn figures(&self) -> Result<Figures> {
        let mut conn = self.reader()?;
        let tx = conn.transaction()?;
        let figures = Figures {
            backups: backup_counts(&tx)?,
            newest_success: newest_successes(&tx)?,
            durations: durations(&tx)?,
            verifications: verification_counts(&tx)?,
            restores: restore_counts(&tx)?,
            offsite: offsite_counts(&tx)?,
            disk: super::disk::read_disk_state(&tx)?,
        };
        tx.commit()?;
        Ok(figures)
    }
}

fn count(n: i64) -> u64 {
    n.max(0) as u64
}

fn parse<T: std::str::FromStr>(what: &str, s: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    s.parse()
        .map_err(|e| CatalogError::Corrupt(format!("{what} {s:?}: {e}")))
}

fn backup_counts(conn: &Connection) -> Result<Vec<(BackupType, BackupStatus, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT backup_type, status, COUNT(*) FROM backups GROUP BY backup_type, status",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (t, s, n): (String, String, i64) = row?;
        out.push((parse("backup type", &t)?, parse("status", &s)?, count(n)));
    }
    Ok(out)
}

fn newest_successes(conn: &Connection) -> Result<Vec<(BackupType, NewestSuccess)>> {
    // SQLite takes the bare `file_size` from the row holding the MAX.
    let mut stmt = conn.prepare_cached(
        "SELECT backup_type, MAX(completed_at), COALESCE(file_size, 0) FROM backups
         WHERE status = 'success' AND completed_at IS NOT NULL GROUP BY backup_type",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (t, completed_at, size) = row?;
        out.push((
            parse("backup type", &t)?,
            NewestSuccess {
                completed_at: time::parse_utc(&completed_at)?,
                file_size: count(size),
            },
        ));
    }
    Ok(out)
}

fn durations(conn: &Connection) -> Result<Vec<(BackupType, Durations)>> {
    let buckets: String = DURATION_BUCKETS
        .iter()
        .map(|le| format!(", SUM(secs <= {le:?})"))
        .collect();
    let sql = format!(
        "WITH d AS (
             SELECT backup_type,
                    MAX(unixepoch(completed_at, 'subsec') - unixepoch(started_at, 'subsec'), 0) AS secs
             FROM backups WHERE status = 'success' AND completed_at IS NOT NULL)
         SELECT backup_type, COUNT(*), TOTAL(secs){buckets} FROM d GROUP BY backup_type"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], |r| {
        let cumulative = (0..DURATION_BUCKETS.len())
            .map(|i| r.get::<_, i64>(3 + i).map(count))
            .collect::<rusqlite::Result<Vec<u64>>>()?;
        Ok((
            r.get::<_, String>(0)?,
            Durations {
                count: count(r.get(1)?),
                sum_secs: r.get(2)?,
                cumulative,
            },
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (t, d) = row?;
        out.push((parse("backup type", &t)?, d));
    }
    Ok(out)
}

fn verification_counts(conn: &Connection) -> Result<VerificationCounts> {
    // A backup's latest finished verification: SQLite takes the bare
    // `status` from the row holding the MAX.
    let (pass, fail, failing): (i64, i64, i64) = conn.query_row(
        "SELECT COALESCE(SUM(status = 'pass'), 0), COALESCE(SUM(status = 'fail'), 0),
             (SELECT COUNT(*) FROM (
                  SELECT status, MAX(checked_at) FROM backup_integrity_checks
                  WHERE status IN ('pass', 'fail') GROUP BY backup_id)
              WHERE status = 'fail')
         FROM backup_integrity_checks",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(VerificationCounts {
        pass: count(pass),
        fail: count(fail),
        backups_failing: count(failing),
    })
}

fn restore_counts(conn: &Connection) -> Result<Vec<(BackupStatus, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT status, COUNT(*) FROM restores WHERE status != 'in_progress' GROUP BY status",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (s, n) = row?;
        out.push((parse("restore status", &s)?, count(n)));
    }
    Ok(out)
}

fn offsite_counts(conn: &Connection) -> Result<Vec<(OffsiteState, u64)>> {
    let mut out: Vec<(OffsiteState, u64)> = [
        OffsiteState::Uploading,
        OffsiteState::Stored,
        OffsiteState::Failed,
        OffsiteState::Deleting,
    ]
    .into_iter()
    .map(|s| (s, 0))
    .collect();
    let mut stmt =
        conn.prepare_cached("SELECT state, COUNT(*) FROM offsite_copies GROUP BY state")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (s, n) = row?;
        let state: OffsiteState = parse("offsite state", &s)?;
        if let Some(slot) = out.iter_mut().find(|(k, _)| *k == state) {
            slot.1 = count(n);
        }
    }
    Ok(out)
}
