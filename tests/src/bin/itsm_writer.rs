//! `itsm-writer <db_path> <seconds> [busy_timeout_ms]`: plays the ITSM
//! application writing to its SQLite database, for the end-to-end tests that
//! prove a backup taken during writes succeeds without the application ever
//! seeing a lock error.
//!
//! It opens the existing database (in WAL mode, as made by
//! `nexus_shared::demo`), sets the busy timeout (default 0: any lock held by
//! someone else fails at once), then for `<seconds>` commits transactions
//! back to back, each inserting one incident and its audit log. Every SQLite
//! error (`SQLITE_BUSY`, ...) is counted; the first few are logged to stderr
//! and the loop goes on. At the end it prints one JSON line on stdout,
//! `{"commits": N, "errors": M, "first_error": "..." | null, "p50_ms": ..,
//! "p99_ms": .., "max_ms": .., "first_commit_at": "<RFC 3339>" | null,
//! "last_commit_at": ..}` (the latencies of the successful commits, for
//! `make bench`; when the first and last commits were made, so a test can
//! show that a backup overlapped the writes), and exits 0.
//! A bad command line or a database that cannot be opened exits non-zero.
//! SIGTERM kills it (default behaviour), without a report.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

/// Errors after this many are counted but not logged.
const LOGGED_ERRORS: u64 = 5;
/// Pause after a failed attempt, so a held lock is not hammered in a loop.
const PAUSE_AFTER_ERROR: Duration = Duration::from_millis(1);

const USAGE: &str = "usage: itsm-writer <db_path> <seconds> [busy_timeout_ms, default 0]";

const INSERT_INCIDENT: &str = "
INSERT INTO incidents (ticket_no, title, description, status, priority, category,
                       reporter_id, assignee_id, created_at, updated_at, resolved_at)
VALUES ((SELECT printf('INC-%06d', coalesce(max(id), 0) + 1) FROM incidents),
        ?1, ?2, 'open', 'medium', 'application', ?3, NULL, ?4, ?4, NULL)";

const INSERT_AUDIT_LOG: &str = "
INSERT INTO audit_logs (user_id, action, entity, entity_id, detail, ip, created_at)
VALUES (?1, 'create', 'incident', last_insert_rowid(), ?2, '127.0.0.1', ?3)";

/// The command line.
struct Args {
    db_path: String,
    duration: Duration,
    busy_timeout: Duration,
}

/// What the run did, printed as JSON at the end.
#[derive(Default)]
struct Report {
    commits: u64,
    errors: u64,
    first_error: Option<String>,
    /// How long each successful commit took, from `BEGIN` to `COMMIT`.
    latencies: Vec<Duration>,
    first_commit_at: Option<chrono::DateTime<chrono::Utc>>,
    last_commit_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Report {
    /// The `p`-th percentile (0–100) of the commit latencies, in ms.
    fn percentile_ms(&mut self, p: f64) -> Option<f64> {
        if self.latencies.is_empty() {
            return None;
        }
        self.latencies.sort_unstable();
        let rank = (p / 100.0 * (self.latencies.len() - 1) as f64).round() as usize;
        Some(self.latencies[rank].as_secs_f64() * 1e3)
    }
}

fn main() -> anyhow::Result<()> {
    let args = parse_args(std::env::args().skip(1).collect())?;
    let mut conn = open(&args)?;
    let users = user_ids(&conn)?;
    let mut report = write_for(&mut conn, args.duration, users);
    let line = serde_json::json!({
        "commits": report.commits,
        "errors": report.errors,
        "first_error": report.first_error,
        "p50_ms": report.percentile_ms(50.0),
        "p99_ms": report.percentile_ms(99.0),
        "max_ms": report.percentile_ms(100.0),
        "first_commit_at": report.first_commit_at.map(|t| t.to_rfc3339()),
        "last_commit_at": report.last_commit_at.map(|t| t.to_rfc3339()),
    });
    println!("{line}");
    Ok(())
}

fn parse_args(args: Vec<String>) -> anyhow::Result<Args> {
    let (db_path, seconds, busy_ms) = match args.as_slice() {
        [db, secs] => (db, secs, None),
        [db, secs, busy] => (db, secs, Some(busy)),
        _ => bail!("{USAGE}"),
    };
    let seconds: f64 = seconds.parse().context(USAGE)?;
    let duration = Duration::try_from_secs_f64(seconds).context(USAGE)?;
    let busy_ms: u64 = busy_ms.map_or(Ok(0), |ms| ms.parse()).context(USAGE)?;
    Ok(Args {
        db_path: db_path.clone(),
        duration,
        busy_timeout: Duration::from_millis(busy_ms),
    })
}

/// Opens the existing database read-write (never creates one).
fn open(args: &Args) -> anyhow::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&args.db_path, flags)
        .with_context(|| format!("opening {}", args.db_path))?;
    conn.busy_timeout(args.busy_timeout)?;
    Ok(conn)
}

/// The range of user ids, to pick reporters from.
fn user_ids(conn: &Connection) -> anyhow::Result<(i64, i64)> {
    let (min, max): (Option<i64>, Option<i64>) =
        conn.query_row("SELECT min(id), max(id) FROM users", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    match (min, max) {
        (Some(min), Some(max)) => Ok((min, max)),
        _ => bail!("the database has no users"),
    }
}

/// Commits back to back until `duration` has passed.
fn write_for(conn: &mut Connection, duration: Duration, users: (i64, i64)) -> Report {
    let deadline = Instant::now() + duration;
    let mut report = Report::default();
    let mut random = XorShift::seeded(u64::from(std::process::id()));
    let mut seq = 0_u64;
    while Instant::now() < deadline {
        seq += 1;
        let started = Instant::now();
        match commit_one(conn, seq, random.in_range(users)) {
            Ok(()) => {
                report.commits += 1;
                report.latencies.push(started.elapsed());
                let now = chrono::Utc::now();
                report.first_commit_at.get_or_insert(now);
                report.last_commit_at = Some(now);
            }
            Err(e) => {
                report.errors += 1;
                if report.errors <= LOGGED_ERRORS {
                    eprintln!("itsm-writer: commit {seq} failed: {e}");
                }
                report.first_error.get_or_insert_with(|| e.to_string());
                std::thread::sleep(PAUSE_AFTER_ERROR);
            }
        }
    }
    report
}

/// One transaction: an incident and the audit log of its creation. Takes
/// the write lock up front (`BEGIN IMMEDIATE`), as applications should.
fn commit_one(conn: &mut Connection, seq: u64, reporter: i64) -> rusqlite::Result<()> {
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(INSERT_INCIDENT)?.execute(params![
        format!("自動登録: ヘルスチェック警告 #{seq} / Health check warning"),
        description(seq),
        reporter,
        now
    ])?;
    let detail = format!(r#"{{"source":"itsm-writer","seq":{seq}}}"#);
    tx.prepare_cached(INSERT_AUDIT_LOG)?
        .execute(params![reporter, detail, now])?;
    tx.commit()
}

/// A description of a few hundred characters, like the application's.
fn description(seq: u64) -> String {
    format!(
        "監視システムからの自動登録です（連番 {seq}）。社内ポータルの応答時間がしきい値を超えました。\
         複数の利用者から同様の問い合わせが寄せられています。暫定対応として再起動を検討します。\n\
         Automatically raised by monitoring (seq {seq}). Response time of the intranet portal \
         exceeded the threshold; several users reported the same issue. A restart is being \
         considered as a workaround."
    )
}

/// A tiny random generator (xorshift64*), enough to spread reporters.
struct XorShift(u64);

impl XorShift {
    fn seeded(seed: u64) -> Self {
        XorShift(seed | 1)
    }

    fn in_range(&mut self, (min, max): (i64, i64)) -> i64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let span = max.abs_diff(min).saturating_add(1);
        min.saturating_add_unsigned(r % span)
    }
}
