//! The API with and without a backup running: 50 clients at once on
//! `GET /api/v1/backups?limit=50` (10,000 records in the catalog), then on
//! `POST /api/v1/backups`, against the real `nexus-api` and `nexus-worker`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use nexus_e2e::TestApp;
use nexus_shared::catalog::{BackupFilter, Catalog, Completed, NewBackup};
use nexus_shared::domain::CreatedBy;
use nexus_shared::domain::{BackupStatus, BackupType, Phase};
use nexus_shared::settings::Settings;
use reqwest::{Client, RequestBuilder};
use serde_json::json;

/// Backups seeded into the catalog before the load.
const SEEDED: usize = 10_000;
/// Concurrent clients.
pub const CLIENTS: usize = 50;

/// Latencies of one load run.
pub struct Load {
    pub what: String,
    pub requests: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// How many responses had each status code.
    pub statuses: BTreeMap<u16, usize>,
    /// Whether the worker was running a backup when the load started and
    /// when it ended.
    pub backup_running: bool,
}

/// Both loads, `seconds` each, first with the worker stopped (no backup
/// runs; the POSTs only queue jobs), then with it running the jobs queued,
/// against the real api and worker on a copy of `db`.
pub fn with_and_without_backup(
    db: &Path,
    scratch: &Path,
    seconds: u64,
) -> anyhow::Result<Vec<Load>> {
    let bench_data = db.parent().expect("the database is in a folder");
    let template = seeded_catalog(bench_data)?;
    let live = scratch.join("api-live.db");
    std::fs::copy(db, &live)?;
    let data_dir = scratch.join("api-data");
    std::fs::create_dir_all(&data_dir)?;
    let catalog_path = data_dir.join("catalog.db");
    std::fs::copy(&template, &catalog_path)?;
    let mut app = TestApp::builder()
        .db_size_mb(0)
        .env("NEXUS_DB_PATH", &live.display().to_string())
        .env("NEXUS_DATA_DIR", &data_dir.display().to_string())
        .without_worker()
        .spawn();
    let catalog = Catalog::open(&catalog_path)?;
    let token = app.admin_token();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    nexus_shared::crypto::install();
    let client = Client::builder().timeout(Duration::from_secs(30)).build()?;
    let duration = Duration::from_secs(seconds);
    let list_url = app.url("/api/v1/backups?limit=50");
    let create_url = app.url("/api/v1/backups");
    let list = {
        let (client, token) = (client.clone(), token.clone());
        move || client.get(&list_url).bearer_auth(&token)
    };
    let create = {
        let (client, token) = (client.clone(), token.clone());
        move || {
            client
                .post(&create_url)
                .bearer_auth(&token)
                .json(&json!({ "type": "manual", "description": "bench" }))
        }
    };
    let mut loads = Vec::new();
    let mut run = |what: &str, load: Samples, running_before: bool| {
        let running = running_before && backup_running(&catalog);
        loads.push(load.finish(what, running));
    };
    for backup in [false, true] {
        if backup {
            // The worker takes the jobs the POSTs queued, one at a time.
            app.start_worker();
            let t = Instant::now();
            while !backup_running(&catalog) {
                anyhow::ensure!(t.elapsed() < Duration::from_secs(60), "no backup started");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let tag = if backup {
            "during a backup"
        } else {
            "no backup"
        };
        let before = backup_running(&catalog);
        let samples = runtime.block_on(load(duration, list.clone()));
        run(&format!("GET ?limit=50, {tag}"), samples, before);
        let before = backup_running(&catalog);
        let samples = runtime.block_on(load(duration, create.clone()));
        run(&format!("POST, {tag}"), samples, before);
    }
    drop(app); // kills the worker with the backups the load queued
    std::fs::remove_file(&live)?;
    std::fs::remove_dir_all(&data_dir)?;
    Ok(loads)
}

/// Whether the worker is taking a backup now (past its queued state).
fn backup_running(catalog: &Catalog) -> bool {
    let filter = BackupFilter {
        status: Some(BackupStatus::InProgress),
        limit: u32::MAX,
        ..BackupFilter::default()
    };
    let (records, _) = catalog.list_backups(&filter).expect("list backups");
    records.iter().any(|r| r.phase != Phase::Queued)
}

/// A catalog with [`SEEDED`] finished backups and no user (the API makes
/// its first admin), made once through the catalog store and kept beside
/// the bench databases: seeding takes a minute or more.
fn seeded_catalog(bench_data: &Path) -> anyhow::Result<PathBuf> {
    let template = bench_data.join(format!("catalog-{SEEDED}-backups.db"));
    if template.exists() {
        return Ok(template);
    }
    let t = Instant::now();
    let dir = tempfile::tempdir_in(bench_data)?;
    let path = dir.path().join("catalog.db");
    let catalog = Catalog::open(&path)?;
    let tz = Settings::default().tz();
    let now = Utc::now();
    let no_files = dir.path().join("backups");
    for i in 0..SEEDED {
        let new = NewBackup {
            backup_type: BackupType::Manual,
            description: Some(format!("seeded {i}")),
            created_by: CreatedBy {
                id: None,
                username: "bench".into(),
            },
            started_at: now - chrono::Duration::minutes(i as i64 + 1),
        };
        let id = catalog.create_backup(&new, tz, &no_files)?.id;
        catalog.claim_backup(&id, "seed", Duration::from_secs(60))?;
        let done = Completed {
            file_size: 4,
            original_size: 4,
            checksum: nexus_shared::domain::Checksum::from_digest([0x5e; 32]),
            raw_checksum: nexus_shared::domain::Checksum::from_digest([0x5e; 32]),
        };
        anyhow::ensure!(catalog.mark_success(&id, "seed", &done)?, "seeding {id}");
    }
    drop(catalog);
    std::fs::rename(&path, &template)?;
    println!(
        "seeded {SEEDED} backups in a catalog in {:.1} s (kept as {})",
        t.elapsed().as_secs_f64(),
        template.display()
    );
    Ok(template)
}

/// What the clients saw, before the percentiles.
struct Samples {
    latencies: Vec<Duration>,
    statuses: BTreeMap<u16, usize>,
    elapsed: Duration,
}

impl Samples {
    fn finish(mut self, what: &str, backup_running: bool) -> Load {
        self.latencies.sort_unstable();
        let at = |p: f64| {
            let n = self.latencies.len();
            match n {
                0 => Duration::ZERO,
                _ => self.latencies[((n - 1) as f64 * p).round() as usize],
            }
        };
        Load {
            what: what.to_owned(),
            requests: self.latencies.len(),
            elapsed: self.elapsed,
            p50: at(0.50),
            p99: at(0.99),
            max: at(1.0),
            statuses: self.statuses,
            backup_running,
        }
    }
}

/// [`CLIENTS`] tasks sending `request()` back to back for `duration`.
/// A failed request (no response) counts as status 0.
async fn load(
    duration: Duration,
    request: impl Fn() -> RequestBuilder + Clone + Send + 'static,
) -> Samples {
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let request = request.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let status = match request().send().await {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let _ = r.bytes().await;
                            status
                        }
                        Err(_) => 0,
                    };
                    seen.push((t.elapsed(), status));
                }
                seen
            })
        })
        .collect();
    let mut samples = Samples {
        latencies: Vec::new(),
        statuses: BTreeMap::new(),
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        for (latency, status) in task.await.expect("a load task panicked") {
            samples.latencies.push(latency);
            *samples.statuses.entry(status).or_default() += 1;
        }
    }
    samples.elapsed = start.elapsed();
    samples
}
