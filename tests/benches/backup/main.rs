//! `make bench`: backups of generated databases of several kinds
//! (`generators.rs`) by the real release worker, next to the guide's own
//! pipeline on the same file (`sqlite3 .backup`, `integrity_check`,
//! `gzip -6`, `sha256sum`) and to `pigz -6`, as ratios measured in the same
//! run; with the worker's peak memory and peak disk, the level it chose,
//! and the machine's limit from the phases measured alone (`limit.rs`).
//! Then, on the first database, unless left out:
//!
//! - `writer`: an application's commit latency with and without a backup;
//! - `api`: API latency under 50 clients, with and without a backup;
//! - `verify`: verify and restore of the backup next to the shell's;
//! - `engine`, `levels` (not by default): the copy path's phases, and
//!   libdeflate levels against `gzip -6`'s size.
//!
//! `NEXUS_BENCH_DATA` lists the databases as `kind:MB` (default
//! `project:1000,small-vocab:300,large-vocab:300,random:300`);
//! `NEXUS_BENCH_MB` sets the first one's size instead of 1000;
//! `NEXUS_BENCH_PARTS` the parts to run (default
//! `backup,writer,api,verify`; `levels` and `verify` need `backup`).

mod api;
mod engine;
mod generators;
mod limit;
mod shell;
mod verify;
mod worker;
mod writer;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nexus_shared::fsutil::human_size;

/// Levels in the level table.
const LEVELS: [u8; 5] = [1, 4, 5, 6, 7];

fn main() -> anyhow::Result<()> {
    let mb: u64 = std::env::var("NEXUS_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let data_sets = std::env::var("NEXUS_BENCH_DATA")
        .unwrap_or_else(|_| format!("project:{mb},small-vocab:300,large-vocab:300,random:300"));
    let parts =
        std::env::var("NEXUS_BENCH_PARTS").unwrap_or_else(|_| "backup,writer,api,verify".into());
    let part = |name: &str| parts.split(',').any(|p| p.trim() == name);
    let target = nexus_e2e::binary("nexus-worker")
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let data = target.join("bench-data");
    std::fs::create_dir_all(&data)?;
    let mut databases = Vec::new();
    for item in data_sets.split(',') {
        let (kind, mb) = item
            .split_once(':')
            .and_then(|(k, mb)| {
                Some((
                    generators::Kind::parse(k.trim())?,
                    mb.trim().parse::<u64>().ok()?,
                ))
            })
            .ok_or_else(|| anyhow::anyhow!("NEXUS_BENCH_DATA: {item:?} is not kind:MB"))?;
        let db = data.join(format!("{}_{mb}mb.db", kind.name()));
        if !db.exists() {
            let t = Instant::now();
            kind.generate(&db, mb * 1_000_000)?;
            println!(
                "generated {} in {:.1} s",
                db.display(),
                t.elapsed().as_secs_f64()
            );
        }
        databases.push((kind, db));
    }
    anyhow::ensure!(!databases.is_empty(), "NEXUS_BENCH_DATA lists no database");

    let mut summary = Vec::new();
    let mut first = None;
    if part("backup") {
        for (n, (kind, db)) in databases.iter().enumerate() {
            let scratch = tempfile::tempdir_in(&data)?;
            let b = backup_side_by_side(*kind, db, scratch.path())?;
            summary.push(b.summary());
            if n == 0 {
                first = Some((b, scratch));
            } else {
                std::fs::remove_file(&b.guide_copy)?;
            }
        }
        print_summary(&summary);
    }
    let db = databases[0].1.clone();
    let size = std::fs::metadata(&db)?.len();
    println!(
        "\nthe other parts run on {} ({})",
        db.display(),
        human_size(size)
    );
    let (backup, scratch) = match first {
        Some((b, s)) => (Some(b), s),
        None => (None, tempfile::tempdir_in(&data)?),
    };
    let secs = |d: Duration| d.as_secs_f64();
    let mbps = |d: Duration| size as f64 / 1e6 / d.as_secs_f64();

    if part("engine") {
        let rows = engine::phases(&db, scratch.path(), &[5, 6])?;
        println!("\n== where a backup's time goes (in this process) ==");
        println!("{:<58} {:>8} {:>8}", "", "wall s", "CPU s");
        for r in rows {
            let cpu = match r.timing.cpu.is_zero() {
                true => String::new(),
                false => format!("{:.2}", secs(r.timing.cpu)),
            };
            println!("{:<58} {:>8.2} {:>8}", r.what, secs(r.timing.wall), cpu);
        }
    }
    if let (true, Some(b)) = (part("levels"), &backup) {
        let levels = engine::levels(&b.guide_copy, scratch.path(), &LEVELS)?;
        println!("\n== libdeflate levels on the same copy (all cores, with both hashes) ==");
        println!(
            "{:<8} {:>8} {:>8} {:>8} {:>12}",
            "level", "wall s", "CPU s", "MB/s", "size vs -6"
        );
        for l in levels {
            println!(
                "{:<8} {:>8.2} {:>8.2} {:>8.0} {:>12.3}",
                l.level,
                secs(l.timing.wall),
                secs(l.timing.cpu),
                mbps(l.timing.wall),
                l.gz_bytes as f64 / b.guide.gz_bytes as f64
            );
        }
    }
    if let Some(b) = &backup {
        std::fs::remove_file(&b.guide_copy)?;
    }

    if part("writer") {
        // A little shorter than a backup, so the second run lies inside one.
        let seconds = backup
            .as_ref()
            .map_or(8.0, |b| (secs(b.ours.elapsed) * 0.9).max(2.0));
        let (alone, during, run) = writer::latency(&db, scratch.path(), seconds)?;
        println!("\n== itsm-writer, {seconds:.1} s of back-to-back commits, busy_timeout 0 ==");
        println!(
            "{:<34} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "", "commits", "errors", "p50 ms", "p99 ms", "max ms"
        );
        for (what, w) in [("alone", &alone), ("during a backup", &during)] {
            println!(
                "{:<34} {:>8} {:>8} {:>8.2} {:>8.2} {:>8.2}",
                what,
                w.commits,
                w.errors,
                w.p50_ms.unwrap_or(f64::NAN),
                w.p99_ms.unwrap_or(f64::NAN),
                w.max_ms.unwrap_or(f64::NAN)
            );
            if let Some(e) = &w.first_error {
                println!("  first error: {e}");
            }
        }
        println!(
            "(that backup took {:.2} s with the writer running)",
            secs(run.elapsed)
        );
    }

    if part("api") {
        let loads = api::with_and_without_backup(&db, scratch.path(), 5)?;
        println!(
            "\n== API under {} concurrent clients, 5 s each ==",
            api::CLIENTS
        );
        println!(
            "{:<34} {:>8} {:>7} {:>8} {:>8} {:>8} {:>9}  statuses",
            "", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "backup on"
        );
        for l in loads {
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!(
                "{:<34} {:>8} {:>7.0} {:>8.1} {:>8.1} {:>8.1} {:>9}  {:?}",
                l.what,
                l.requests,
                l.requests as f64 / secs(l.elapsed),
                ms(l.p50),
                ms(l.p99),
                ms(l.max),
                if l.backup_running { "yes" } else { "no" },
                l.statuses
            );
        }
    }

    if let (true, Some(b)) = (part("verify"), &backup) {
        let (ours_verify, shell_verify) = verify::side_by_side(&b.ours, scratch.path())?;
        let (ours_restore, shell_restore) =
            verify::restore_side_by_side(&b.ours, &db, scratch.path())?;
        println!("\n== verify and restore of that backup ==");
        println!("{:<74} {:>8} {:>8}", "", "seconds", "vs shell");
        let line = |what: &str, d: Duration, shell: Duration| {
            println!(
                "{:<74} {:>8.2} {:>7.2}x",
                what,
                secs(d),
                secs(shell) / secs(d)
            )
        };
        line(
            "shell verify (sha256sum, gzip -t, gunzip -c, integrity_check)",
            shell_verify,
            shell_verify,
        );
        line(
            "nexus verify (the five checks, one pass + integrity_check)",
            ours_verify,
            shell_verify,
        );
        line(
            "shell restore (gunzip -c, sqlite3 .restore, integrity_check)",
            shell_restore,
            shell_restore,
        );
        line(
            "nexus restore (verified decompression, apply, integrity_check)",
            ours_restore,
            shell_restore,
        );
    }
    Ok(())
}

/// The backup three ways on the same file, and the machine's limit.
struct Backup {
    kind: generators::Kind,
    size: u64,
    guide: shell::Pipeline,
    /// The guide's uncompressed copy, for the level table.
    guide_copy: PathBuf,
    pigz: Option<shell::Pipeline>,
    ours: worker::WorkerRun,
    limit: limit::Limit,
}

/// One line of the summary table.
struct Summary {
    what: String,
    vs_guide: f64,
    vs_pigz: Option<f64>,
    of_limit: f64,
    size_vs_gzip6: f64,
    level: Option<u8>,
    disk_vs_gz: f64,
    rss: u64,
}

impl Backup {
    fn summary(&self) -> Summary {
        let ours = self.ours.elapsed.as_secs_f64();
        Summary {
            what: format!("{} {}", self.kind.name(), human_size(self.size)),
            vs_guide: self.guide.elapsed.as_secs_f64() / ours,
            vs_pigz: self.pigz.as_ref().map(|p| p.elapsed.as_secs_f64() / ours),
            of_limit: self.limit.limit().as_secs_f64() / ours,
            size_vs_gzip6: self.ours.gz_bytes as f64 / self.guide.gz_bytes as f64,
            level: self.ours.level,
            disk_vs_gz: self.ours.peak_disk_bytes as f64 / self.ours.gz_bytes.max(1) as f64,
            rss: self.ours.peak_rss_bytes,
        }
    }
}

fn print_summary(rows: &[Summary]) {
    println!("\n== backups, summary (ratios within one data set's runs) ==");
    println!(
        "{:<24} {:>9} {:>9} {:>9} {:>11} {:>6} {:>12} {:>10}",
        "database",
        "vs guide",
        "vs pigz",
        "of limit",
        "size vs -6",
        "level",
        "disk vs .gz",
        "peak RSS"
    );
    for r in rows {
        println!(
            "{:<24} {:>8.2}x {:>9} {:>9.2} {:>11.3} {:>6} {:>12.3} {:>10}",
            r.what,
            r.vs_guide,
            r.vs_pigz.map_or("-".into(), |v| format!("{v:.2}x")),
            r.of_limit,
            r.size_vs_gzip6,
            r.level.map_or("-".into(), |l| l.to_string()),
            r.disk_vs_gz,
            human_size(r.rss)
        );
    }
}

/// The guide's pipeline, `pigz -6`, the worker and the phases alone;
/// prints their table.
fn backup_side_by_side(
    kind: generators::Kind,
    db: &Path,
    scratch: &Path,
) -> anyhow::Result<Backup> {
    let size = std::fs::metadata(db)?.len();
    println!(
        "\n== backup of {} ({}, {} MB) ==",
        kind.name(),
        human_size(size),
        size / 1_000_000
    );
    let (guide, guide_copy) = shell::guide_pipeline(db, scratch)?;
    let pigz = shell::pigz_pipeline(db, scratch)?;
    let (ours, ()) = worker::backup(db, scratch, || Ok(()))?;
    let limit = limit::measure_phases(db, scratch)?;

    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "{:<58} {:>8} {:>8} {:>10} {:>12}",
        "", "seconds", "MB/s", "vs guide", "size vs -6"
    );
    let line = |what: &str, d: Duration, gz: Option<u64>| {
        println!(
            "{:<58} {:>8.2} {:>8.0} {:>9.2}x {:>12}",
            what,
            secs(d),
            size as f64 / 1e6 / secs(d),
            secs(guide.elapsed) / secs(d),
            gz.map_or(String::new(), |gz| format!(
                "{:.3}",
                gz as f64 / guide.gz_bytes as f64
            ))
        )
    };
    line(
        "guide pipeline (.backup, integrity_check, gzip -6, sha256)",
        guide.elapsed,
        Some(guide.gz_bytes),
    );
    if let Some(p) = &pigz {
        line("same with pigz -6", p.elapsed, Some(p.gz_bytes));
    }
    line(
        "nexus-worker (enqueue -> success, same checks)",
        ours.elapsed,
        Some(ours.gz_bytes),
    );
    let phase = |what: &str, t: engine::Timing| {
        println!(
            "  alone: {:<48} {:>8.2} s wall {:>8.2} s CPU",
            what,
            secs(t.wall),
            secs(t.cpu)
        )
    };
    phase("page stream of the pinned snapshot (1 thread)", limit.read);
    phase("PRAGMA integrity_check (1 thread)", limit.check);
    phase(
        &format!("gzip level {} + 2 x SHA-256 (all cores)", limit.level),
        limit.compress,
    );
    line(
        &format!(
            "machine's limit: max(critical path, CPU / {} cores)",
            limit.cores
        ),
        limit.limit(),
        None,
    );
    println!(
        "worker: {:.2} of the limit, level {} (the sample said {:.3} of gzip -6), peak memory (VmHWM) {}, peak disk {} ({:.3} x the .gz)",
        secs(limit.limit()) / secs(ours.elapsed),
        ours.level.map_or("?".into(), |l| l.to_string()),
        limit.sample_vs_gzip6,
        human_size(ours.peak_rss_bytes),
        human_size(ours.peak_disk_bytes),
        ours.peak_disk_bytes as f64 / ours.gz_bytes.max(1) as f64
    );
    Ok(Backup {
        kind,
        size,
        guide,
        guide_copy,
        pigz,
        ours,
        limit,
    })
}
