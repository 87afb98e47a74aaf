//! One backup by the real release `nexus-worker`, from enqueue to
//! `success`, as an operator gets it.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use nexus_shared::catalog::{BackupRecord, Catalog, NewBackup};
use nexus_shared::domain::BackupType;
use nexus_shared::domain::CreatedBy;
use nexus_shared::fsutil::human_size;
use nexus_shared::queue::{Job, Queue};
use nexus_shared::settings::Settings;

/// What the worker's backup took and made.
pub struct WorkerRun {
    pub elapsed: Duration,
    pub gz_bytes: u64,
    pub peak_rss_bytes: u64,
    /// The most the backup folder held at any moment of the run (it
    /// starts empty): the compressed file and whatever else it wrote.
    pub peak_disk_bytes: u64,
    pub level: Option<u8>,
    pub file: PathBuf,
    pub record: BackupRecord,
}

/// Starts the release worker on `db` with its catalog, queue and backups
/// under `scratch`, enqueues one backup, waits for it and stops the worker.
/// `during` runs (on this thread) right after the job is queued, while the
/// backup is under way; the wait for the backup starts when it returns.
pub fn backup<T>(
    db: &Path,
    scratch: &Path,
    during: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<(WorkerRun, T)> {
    let settings = Settings {
        data_dir: scratch.join("data"),
        db_path: db.to_path_buf(),
        backup_root: scratch.join("backups"),
        ..Settings::default()
    };
    let catalog = Catalog::open(&settings.catalog_path())?;
    let runtime = tokio::runtime::Runtime::new()?;
    let queue = runtime.block_on(Queue::open(&settings.queue_path(), &settings.queue))?;
    let mut worker = Command::new(nexus_e2e::binary("nexus-worker"))
        .env("NEXUS_DATA_DIR", &settings.data_dir)
        .env("NEXUS_DB_PATH", &settings.db_path)
        .env("NEXUS_BACKUP_ROOT", &settings.backup_root)
        .env("NEXUS_QUEUE_POLL_MS", "100")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()?;
    std::thread::sleep(Duration::from_secs(1));

    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (root, sampling) = (settings.backup_root.clone(), sampling.clone());
        std::thread::spawn(move || {
            let mut peak = 0;
            while sampling.load(Ordering::Relaxed) {
                peak = peak.max(disk_usage(&root));
                std::thread::sleep(Duration::from_millis(5));
            }
            peak
        })
    };
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
    let during = during();
    let done = loop {
        let r = catalog.get_backup(&record.id)?;
        if r.status.is_terminal() {
            break r;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = t.elapsed();
    sampling.store(false, Ordering::Relaxed);
    let peak_disk_bytes = sampler.join().expect("the disk sampler panicked");
    let peak_rss_bytes = peak_rss(worker.id())?;
    let _ = worker.kill();
    let _ = worker.wait();
    let during = during?;
    anyhow::ensure!(
        done.status.as_str() == "success",
        "the backup failed: {:?}",
        done.error
    );
    println!(
        "nexus-worker: {} -> {} in {:.2} s",
        human_size(done.original_size.unwrap_or(0)),
        human_size(done.file_size.unwrap_or(0)),
        elapsed.as_secs_f64()
    );
    let file = settings.backup_root.join(&done.file_path);
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(
        nexus_shared::engine::manifest::manifest_path(&file),
    )?)?;
    let run = WorkerRun {
        elapsed,
        gz_bytes: done.file_size.unwrap_or(0),
        peak_rss_bytes,
        peak_disk_bytes,
        level: manifest["compression_level"].as_u64().map(|l| l as u8),
        file,
        record: done,
    };
    Ok((run, during))
}

/// Bytes allocated to the files under `dir`.
fn disk_usage(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_usage(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

/// VmHWM of a live process, in bytes.
fn peak_rss(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmHWM in /proc/{pid}/status"))?;
    Ok(kb * 1024)
}
