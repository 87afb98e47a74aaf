//! `make bench`: a backup of a generated ITSM database (~1 GB by default)
//! by the real release worker, next to the guide's own pipeline on the same
//! file (`sqlite3 .backup`, `integrity_check`, `gzip -6`, `sha256sum`) and
//! to `pigz -6`, as ratios measured in the same run, with the worker's peak
//! memory. Then, unless left out:
//!
//! - `engine`: each phase of a backup alone and overlapped, wall and CPU;
//! - `levels`: libdeflate levels, speed and size against `gzip -6`;
//! - `writer`: an application's commit latency with and without a backup;
//! - `api`: API latency under 50 clients while a backup runs;
//! - `verify`: verify and restore of the backup next to the shell's.
//!
//! `NEXUS_BENCH_MB` sets the database size (default 1000);
//! `NEXUS_BENCH_PARTS` the parts to run (default all:
//! `backup,engine,levels,writer,api,verify`; `levels` and `verify` need
//! `backup`).

mod api;
mod engine;
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
    let parts = std::env::var("NEXUS_BENCH_PARTS")
        .unwrap_or_else(|_| "backup,engine,levels,writer,api,verify".into());
    let part = |name: &str| parts.split(',').any(|p| p.trim() == name);
    let target = nexus_e2e::binary("nexus-worker")
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let data = target.join("bench-data");
    std::fs::create_dir_all(&data)?;
    let db = data.join(format!("itsm_nexus_{mb}mb.db"));
    if !db.exists() {
        let t = Instant::now();
        nexus_shared::demo::generate(&db, mb * 1_000_000)?;
        println!(
            "generated {} in {:.1} s",
            db.display(),
            t.elapsed().as_secs_f64()
        );
    }
    let size = std::fs::metadata(&db)?.len();
    println!("database: {} ({})\n", db.display(), human_size(size));
    let secs = |d: Duration| d.as_secs_f64();
    let mbps = |d: Duration| size as f64 / 1e6 / d.as_secs_f64();

    let scratch = tempfile::tempdir_in(&data)?;
    let backup = if part("backup") {
        Some(backup_side_by_side(&db, size, scratch.path())?)
    } else {
        None
    };

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

/// The backup three ways on the same file.
struct Backup {
    guide: shell::Pipeline,
    /// The guide's uncompressed copy, for the level table.
    guide_copy: PathBuf,
    ours: worker::WorkerRun,
}

/// The guide's pipeline, `pigz -6` and the worker; prints their table.
fn backup_side_by_side(db: &Path, size: u64, scratch: &Path) -> anyhow::Result<Backup> {
    let (guide, guide_copy) = shell::guide_pipeline(db, scratch)?;
    let pigz = shell::pigz_pipeline(db, scratch)?;
    let (ours, ()) = worker::backup(db, scratch, || Ok(()))?;

    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "\n== backup of {} ({} MB database) ==",
        human_size(size),
        size / 1_000_000
    );
    println!(
        "{:<58} {:>8} {:>8} {:>10} {:>12}",
        "", "seconds", "MB/s", "vs guide", "size vs -6"
    );
    let line = |what: &str, d: Duration, gz: u64| {
        println!(
            "{:<58} {:>8.2} {:>8.0} {:>9.2}x {:>12.3}",
            what,
            secs(d),
            size as f64 / 1e6 / secs(d),
            secs(guide.elapsed) / secs(d),
            gz as f64 / guide.gz_bytes as f64
        )
    };
    line(
        "guide pipeline (.backup, integrity_check, gzip -6, sha256)",
        guide.elapsed,
        guide.gz_bytes,
    );
    if let Some(p) = &pigz {
        line("same with pigz -6", p.elapsed, p.gz_bytes);
    }
    line(
        "nexus-worker (enqueue -> success, same checks)",
        ours.elapsed,
        ours.gz_bytes,
    );
    println!(
        "worker peak memory (VmHWM): {}",
        human_size(ours.peak_rss_bytes)
    );
    Ok(Backup {
        guide,
        guide_copy,
        ours,
    })
}
