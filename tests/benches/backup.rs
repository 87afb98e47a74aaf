//! `make bench`: one backup of a ~1 GB generated ITSM database by the real
//! release worker, next to the guide's own pipeline on the same file
//! (`sqlite3 .backup`, `integrity_check`, `gzip -6`, `sha256sum`), as a
//! ratio measured in the same run, plus the worker's peak memory; then
//! verify and restore of that backup next to their shell equivalents.
//!
//! `NEXUS_BENCH_MB` sets the database size (default 1000).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use nexus_shared::catalog::{BackupRecord, Catalog, CreatedBy, NewBackup};
use nexus_shared::domain::BackupType;
use nexus_shared::engine::{restore, verify};
use nexus_shared::fsutil::human_size;
use nexus_shared::queue::{Job, Queue};
use nexus_shared::settings::Settings;

fn main() -> anyhow::Result<()> {
    let mb: u64 = std::env::var("NEXUS_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
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

    let scratch = tempfile::tempdir_in(&data)?;
    let baseline = guide_pipeline(&db, scratch.path())?;
    let pigz = pigz_pipeline(&db, scratch.path())?;
    let ours = worker_backup(&db, scratch.path())?;

    let secs = |d: Duration| d.as_secs_f64();
    let mbps = |d: Duration| size as f64 / 1e6 / d.as_secs_f64();
    println!(
        "\n== backup of {} ({} MB database) ==",
        human_size(size),
        size / 1_000_000
    );
    println!(
        "{:<58} {:>8} {:>8} {:>10} {:>12}",
        "", "seconds", "MB/s", "vs guide", "size vs -6"
    );
    println!(
        "{:<58} {:>8.2} {:>8.0} {:>10} {:>12}",
        "guide pipeline (.backup, integrity_check, gzip -6, sha256)",
        secs(baseline.elapsed),
        mbps(baseline.elapsed),
        "1.00x",
        "1.000"
    );
    if let Some(p) = &pigz {
        println!(
            "{:<58} {:>8.2} {:>8.0} {:>9.2}x {:>12.3}",
            "same with pigz -6",
            secs(p.elapsed),
            mbps(p.elapsed),
            secs(baseline.elapsed) / secs(p.elapsed),
            p.gz_bytes as f64 / baseline.gz_bytes as f64
        );
    }
    println!(
        "{:<58} {:>8.2} {:>8.0} {:>9.2}x {:>12.3}",
        "nexus-worker (enqueue -> success, same checks)",
        secs(ours.elapsed),
        mbps(ours.elapsed),
        secs(baseline.elapsed) / secs(ours.elapsed),
        ours.gz_bytes as f64 / baseline.gz_bytes as f64
    );
    println!(
        "\nspeed-up over the guide's pipeline: {:.2}x",
        secs(baseline.elapsed) / secs(ours.elapsed)
    );
    println!(
        "worker peak memory (VmHWM): {}",
        human_size(ours.peak_rss_bytes)
    );

    let file = PathBuf::from(&ours.file);
    let (ours_verify, shell_verify) = verify_side_by_side(&ours.record, &file, scratch.path())?;
    let (ours_restore, shell_restore) =
        restore_side_by_side(&ours.record, &file, &db, scratch.path())?;
    println!("\n== verify and restore of that backup ==");
    println!("{:<74} {:>8} {:>8}", "", "seconds", "vs shell");
    println!(
        "{:<74} {:>8.2} {:>8}",
        "shell verify (sha256sum, gzip -t, gunzip -c, integrity_check)",
        secs(shell_verify),
        "1.00x"
    );
    println!(
        "{:<74} {:>8.2} {:>7.2}x",
        "nexus verify (the five checks, one pass + integrity_check)",
        secs(ours_verify),
        secs(shell_verify) / secs(ours_verify)
    );
    println!(
        "{:<74} {:>8.2} {:>8}",
        "shell restore (gunzip -c, sqlite3 .restore, integrity_check)",
        secs(shell_restore),
        "1.00x"
    );
    println!(
        "{:<74} {:>8.2} {:>7.2}x",
        "nexus restore (verified decompression, apply, integrity_check)",
        secs(ours_restore),
        secs(shell_restore) / secs(ours_restore)
    );
    Ok(())
}

/// The five checks of the engine against the shell's equivalent.
fn verify_side_by_side(
    record: &BackupRecord,
    file: &Path,
    scratch: &Path,
) -> anyhow::Result<(Duration, Duration)> {
    let expected = verify::Expected {
        file_size: record.file_size.unwrap_or(0),
        checksum: record.checksum.clone().unwrap_or_default(),
        original_size: record.original_size,
        raw_checksum: record.raw_checksum.clone(),
    };
    let t = Instant::now();
    let report = verify::verify_backup(file, &expected, &verify::Scratch::new(scratch));
    let ours = t.elapsed();
    anyhow::ensure!(
        report.passed,
        "the backup failed verification: {:?}",
        report.checks
    );
    println!("shell verify:");
    let copy = scratch.join("verify.db");
    let mut shell = timed("sha256sum", Command::new("sha256sum").arg(file))?;
    shell += timed("gzip -t", Command::new("gzip").arg("-t").arg(file))?;
    shell += timed(
        "gunzip -c",
        Command::new("sh").arg("-c").arg(format!(
            "gunzip -c '{}' > '{}'",
            file.display(),
            copy.display()
        )),
    )?;
    shell += timed(
        "PRAGMA integrity_check",
        Command::new("sqlite3")
            .arg(&copy)
            .arg("PRAGMA integrity_check"),
    )?;
    std::fs::remove_file(&copy)?;
    Ok((ours, shell))
}

/// Restoring the backup over a copy of the database, both ways.
fn restore_side_by_side(
    record: &BackupRecord,
    file: &Path,
    db: &Path,
    scratch: &Path,
) -> anyhow::Result<(Duration, Duration)> {
    let live = scratch.join("live.db");
    std::fs::copy(db, &live)?;
    let expected = restore::Expected {
        checksum: record.checksum.as_deref().unwrap_or_default(),
        raw_checksum: record.raw_checksum.as_deref(),
        original_size: record.original_size,
    };
    let t = Instant::now();
    let copy = restore::verify_into(file, &expected, &scratch.join("restore-copy.db"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    restore::apply(copy.path(), &live, Duration::from_secs(30))
        .map_err(|f| anyhow::anyhow!("{}", f.error))?;
    restore::check_live(&live).map_err(|e| anyhow::anyhow!("{e}"))?;
    let ours = t.elapsed();
    drop(copy);
    println!("shell restore:");
    let raw = scratch.join("restore-shell.db");
    let mut shell = timed(
        "gunzip -c",
        Command::new("sh").arg("-c").arg(format!(
            "gunzip -c '{}' > '{}'",
            file.display(),
            raw.display()
        )),
    )?;
    shell += timed(
        "sqlite3 .restore",
        Command::new("sqlite3")
            .arg(&live)
            .arg(format!(".restore '{}'", raw.display())),
    )?;
    shell += timed(
        "PRAGMA integrity_check",
        Command::new("sqlite3")
            .arg(&live)
            .arg("PRAGMA integrity_check"),
    )?;
    std::fs::remove_file(&raw)?;
    std::fs::remove_file(&live)?;
    Ok((ours, shell))
}

/// A shell pipeline's total time and output size.
struct Pipeline {
    elapsed: Duration,
    gz_bytes: u64,
}

fn timed(what: &str, command: &mut Command) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let status = command.stdout(Stdio::null()).status()?;
    anyhow::ensure!(status.success(), "{what} failed: {status}");
    let elapsed = t.elapsed();
    println!("  {what:<28} {:>7.2} s", elapsed.as_secs_f64());
    Ok(elapsed)
}

/// The guide's shell pipeline, step by step, on the same database.
fn guide_pipeline(db: &Path, scratch: &Path) -> anyhow::Result<Pipeline> {
    println!("guide pipeline:");
    shell_pipeline(db, scratch, "gzip -6")
}

/// The same with pigz, when it is installed.
fn pigz_pipeline(db: &Path, scratch: &Path) -> anyhow::Result<Option<Pipeline>> {
    if Command::new("pigz").arg("--version").output().is_err() {
        println!("pigz: not installed, skipped (apt-get install pigz)");
        return Ok(None);
    }
    println!("pigz pipeline:");
    shell_pipeline(db, scratch, "pigz -6").map(Some)
}

fn shell_pipeline(db: &Path, scratch: &Path, compressor: &str) -> anyhow::Result<Pipeline> {
    let copy = scratch.join("guide.db");
    let gz = scratch.join("guide.db.gz");
    let mut total = Duration::ZERO;
    total += timed(
        "sqlite3 .backup",
        Command::new("sqlite3")
            .arg(db)
            .arg(format!(".backup '{}'", copy.display())),
    )?;
    total += timed(
        "PRAGMA integrity_check",
        Command::new("sqlite3")
            .arg(&copy)
            .arg("PRAGMA integrity_check"),
    )?;
    total += timed(
        compressor,
        Command::new("sh").arg("-c").arg(format!(
            "{compressor} -c '{}' > '{}'",
            copy.display(),
            gz.display()
        )),
    )?;
    total += timed("sha256sum", Command::new("sha256sum").arg(&gz))?;
    let gz_bytes = std::fs::metadata(&gz)?.len();
    std::fs::remove_file(&copy)?;
    std::fs::remove_file(&gz)?;
    Ok(Pipeline {
        elapsed: total,
        gz_bytes,
    })
}

struct WorkerRun {
    elapsed: Duration,
    gz_bytes: u64,
    peak_rss_bytes: u64,
    file: String,
    record: BackupRecord,
}

/// Starts the release worker, enqueues one backup and waits for success.
fn worker_backup(db: &Path, scratch: &Path) -> anyhow::Result<WorkerRun> {
    let env = [
        ("NEXUS_DATA_DIR", scratch.join("data")),
        ("NEXUS_DB_PATH", db.to_path_buf()),
        ("NEXUS_BACKUP_ROOT", scratch.join("backups")),
    ];
    let settings = Settings {
        data_dir: env[0].1.clone(),
        db_path: env[1].1.clone(),
        backup_root: env[2].1.clone(),
        ..Settings::default()
    };

    let catalog = Catalog::open(&settings.catalog_path())?;
    let runtime = tokio::runtime::Runtime::new()?;
    let queue = runtime.block_on(Queue::open(&settings.queue_path(), &settings.queue))?;
    let mut worker = Command::new(nexus_e2e::binary("nexus-worker"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .env("NEXUS_QUEUE_POLL_MS", "100")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()?;
    std::thread::sleep(Duration::from_secs(1));

    let t = Instant::now();
    let record = catalog.create_backup(
        &NewBackup {
            backup_type: BackupType::Manual,
            description: Some("bench".into()),
            created_by: CreatedBy {
                id: None,
                username: "bench".into(),
            },
            started_at: Utc::now(),
        },
        settings.tz(),
        &settings.backup_root,
    )?;
    let job = runtime.block_on(queue.push(
        Job::Backup {
            backup_id: record.id.clone(),
        },
        None,
    ))?;
    catalog.set_job_id(&record.id, &job)?;
    let done = loop {
        let r = catalog.get_backup(&record.id)?;
        if r.status.is_terminal() {
            break r;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let elapsed = t.elapsed();
    let peak_rss_bytes = peak_rss(worker.id())?;
    let _ = worker.kill();
    let _ = worker.wait();
    anyhow::ensure!(
        done.status.as_str() == "success",
        "the backup failed: {:?}",
        done.error
    );
    println!(
        "nexus-worker: {} -> {}",
        human_size(done.original_size.unwrap_or(0)),
        human_size(done.file_size.unwrap_or(0))
    );
    Ok(WorkerRun {
        elapsed,
        gz_bytes: done.file_size.unwrap_or(0),
        peak_rss_bytes,
        file: settings
            .backup_root
            .join(&done.file_path)
            .display()
            .to_string(),
        record: done,
    })
}

/// VmHWM of a live process, in bytes.
fn peak_rss(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(PathBuf::from(format!("/proc/{pid}/status")))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmHWM in /proc/{pid}/status"))?;
    Ok(kb * 1024)
}
