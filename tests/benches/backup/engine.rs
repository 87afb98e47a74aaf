//! The engine's phases run one at a time in this process, then together as
//! `create_backup` runs them, each with its wall and CPU time: where a
//! backup's time goes, and how much two cores can overlap. Also the level
//! table: libdeflate levels against `gzip -6`'s size.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use nexus_shared::domain::CreatedBy;
use nexus_shared::domain::{BackupId, BackupType};
use nexus_shared::engine::compress::{self, CompressOptions};
use nexus_shared::engine::sharing::LentCore;
use nexus_shared::engine::{self, BackupPlan, snapshot};
use nix::sys::resource::{UsageWho, getrusage};

/// Wall-clock and CPU time (all threads of this process) of one step.
#[derive(Clone, Copy)]
pub struct Timing {
    pub wall: Duration,
    pub cpu: Duration,
}

/// Runs `f`, timing it.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Timing) {
    let (cpu0, t) = (cpu_time(), Instant::now());
    let out = f();
    let timing = Timing {
        wall: t.elapsed(),
        cpu: cpu_time().saturating_sub(cpu0),
    };
    (out, timing)
}

fn cpu_time() -> Duration {
    let usage = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let d =
        |tv: nix::sys::time::TimeVal| Duration::new(tv.tv_sec() as u64, tv.tv_usec() as u32 * 1000);
    d(usage.user_time()) + d(usage.system_time())
}

/// One row of a timing table.
pub struct Row {
    pub what: String,
    pub timing: Timing,
}

/// Each phase alone, then `create_backup` with its overlap, at the default
/// level and at each of `levels`.
pub fn phases(db: &Path, scratch: &Path, levels: &[u8]) -> anyhow::Result<Vec<Row>> {
    let dir = scratch.join("engine");
    std::fs::create_dir_all(&dir)?;
    let copy = dir.join("snapshot.db");
    let gz = dir.join("snapshot.db.gz");
    let options = CompressOptions::default();
    let mut rows = Vec::new();

    let (bytes, t) = measure(|| snapshot::copy_live_database(db, &copy, &mut |_| Ok(())));
    bytes?;
    rows.push(row("snapshot (online backup API)", t));
    let (ok, t) = measure(|| snapshot::integrity_check(&copy));
    ok?;
    rows.push(row("PRAGMA integrity_check (1 thread)", t));
    let (c, t) = measure(|| compress::gzip_file(&copy, &gz, options, &mut |_| Ok(())));
    c?;
    rows.push(row(
        &format!(
            "gzip + 2 x SHA-256 (libdeflate {}, all cores)",
            options.level
        ),
        t,
    ));
    std::fs::remove_file(&gz)?;
    let sum = Timing {
        wall: rows.iter().map(|r| r.timing.wall).sum(),
        cpu: rows.iter().map(|r| r.timing.cpu).sum(),
    };
    rows.push(row("sum of the phases, one after the other", sum));
    for lend in [false, true] {
        let ((ok, c), t) = measure(|| side_by_side(&copy, &gz, options, lend));
        ok?;
        c?;
        std::fs::remove_file(&gz)?;
        rows.push(row(
            if lend {
                "check | gzip, a core kept for the check (now)"
            } else {
                "check | gzip, every core compressing (before)"
            },
            t,
        ));
    }
    std::fs::remove_file(&copy)?;

    let created_by = CreatedBy {
        id: None,
        username: "bench".into(),
    };
    let mut levels = levels.to_vec();
    levels.retain(|&l| l != options.level);
    levels.insert(0, options.level);
    for (n, level) in levels.into_iter().enumerate() {
        let id = BackupId::new(BackupType::Manual, Utc::now().naive_utc(), n as u32 + 1);
        let plan = BackupPlan {
            source: db,
            backup_root: &dir,
            id: &id,
            reserve_bytes: 0,
            description: None,
            created_by: &created_by,
            started_at: Utc::now(),
            compression: CompressOptions { level, ..options },
        };
        let mut steps = Steps::default();
        let (outcome, t) = measure(|| engine::create_backup(&plan, &mut steps));
        let outcome = outcome?;
        rows.push(row(
            &format!("create_backup (overlapped), level {level}"),
            t,
        ));
        for (what, wall) in steps.split(t.wall) {
            rows.push(Row {
                what: format!("  {what}"),
                timing: Timing {
                    wall,
                    cpu: Duration::ZERO,
                },
            });
        }
        std::fs::remove_file(&outcome.path)?;
        std::fs::remove_file(&outcome.manifest_path)?;
    }
    Ok(rows)
}

/// When `create_backup` reached each step, for the wall time of its parts.
#[derive(Default)]
struct Steps {
    start: Option<Instant>,
    snapshot_taken: Option<Instant>,
    checked_and_compressed: Option<Instant>,
}

impl Steps {
    /// The parts' wall times, given the total.
    fn split(&self, total: Duration) -> Vec<(&'static str, Duration)> {
        let (Some(start), Some(taken), Some(done)) =
            (self.start, self.snapshot_taken, self.checked_and_compressed)
        else {
            return Vec::new();
        };
        vec![
            ("of which snapshot", taken - start),
            ("of which check | gzip", done - taken),
            (
                "of which the rest (pre-flight, publish)",
                total.saturating_sub(done - start),
            ),
        ]
    }
}

impl engine::Observer for Steps {
    fn event(&mut self, event: engine::Event<'_>) -> Result<(), engine::EngineError> {
        let now = Instant::now();
        match event {
            engine::Event::PhaseStarted(nexus_shared::domain::Phase::Snapshot) => {
                self.start = Some(now)
            }
            engine::Event::SnapshotTaken { .. } => self.snapshot_taken = Some(now),
            engine::Event::IntegrityOk => self.checked_and_compressed = Some(now),
            _ => {}
        }
        Ok(())
    }
}

/// The integrity check and the compression of `copy` at once, the
/// compression lending a core to the check or not.
fn side_by_side(
    copy: &Path,
    gz: &Path,
    options: CompressOptions,
    lend: bool,
) -> (
    Result<(), engine::EngineError>,
    Result<compress::Compressed, engine::EngineError>,
) {
    let lent = LentCore::new();
    std::thread::scope(|scope| {
        let check = scope.spawn(|| {
            let _core = lent.borrow();
            snapshot::integrity_check(copy)
        });
        let lent = lend.then_some(&lent);
        let mut file = std::fs::File::open(copy).expect("the copy");
        let total = file.metadata().expect("the copy").len();
        let mut read = |sink: &mut dyn std::io::Write| {
            std::io::copy(&mut file, sink)
                .map(drop)
                .map_err(|e| engine::EngineError::io("cannot read the copy", copy, e))
        };
        let input = compress::Input {
            total,
            write_to: &mut read,
        };
        let level = nexus_shared::engine::level::resolve(options.level, copy).expect("a level");
        let c = compress::gzip_stream(input, gz, options.at(level), lent, &mut |_| Ok(()));
        (check.join().expect("the check panicked"), c)
    })
}

fn row(what: &str, timing: Timing) -> Row {
    Row {
        what: what.to_owned(),
        timing,
    }
}

/// One libdeflate level on the guide's uncompressed copy.
pub struct Level {
    pub level: u8,
    pub timing: Timing,
    pub gz_bytes: u64,
}

/// Compresses `copy` at each level with all cores, hashing as a backup does.
pub fn levels(copy: &Path, scratch: &Path, levels: &[u8]) -> anyhow::Result<Vec<Level>> {
    let gz = scratch.join("level.gz");
    let mut out = Vec::new();
    for &level in levels {
        let options = CompressOptions { level, threads: 0 };
        let (c, timing) = measure(|| compress::gzip_file(copy, &gz, options, &mut |_| Ok(())));
        out.push(Level {
            level,
            timing,
            gz_bytes: c?.gz_size,
        });
        std::fs::remove_file(&gz)?;
    }
    Ok(out)
}
