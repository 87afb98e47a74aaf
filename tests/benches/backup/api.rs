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

/// Backups seeded into the catalog before the load.
const SEEDED: usize = 10_000;
/// Concurrent clients.
pub const CLIENTS: usize = 50;
/// The body of each `POST /api/v1/backups`.
const CREATE_BODY: &str = r#"{"type": "manual", "description": "bench"}"#;

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
    if wrk::installed() {
        println!("API load: wrk, {CLIENTS} connections, 2 threads");
    } else {
        println!("API load: reqwest in this process (apt-get install wrk for a lighter client)");
    }
    let list = {
        let (client, token, url) = (client.clone(), token.clone(), list_url.clone());
        move || client.get(&url).bearer_auth(&token)
    };
    let create = {
        let (client, token, url) = (client.clone(), token.clone(), create_url.clone());
        move || {
            client
                .post(&url)
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(CREATE_BODY)
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
        let samples = match wrk::installed() {
            true => wrk::load(&list_url, &token, None, duration)?,
            false => runtime.block_on(load(duration, list.clone())),
        };
        run(&format!("GET ?limit=50, {tag}"), samples, before);
        let before = backup_running(&catalog);
        let samples = match wrk::installed() {
            true => wrk::load(&create_url, &token, Some(CREATE_BODY), duration)?,
            false => runtime.block_on(load(duration, create.clone())),
        };
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

/// The load from `wrk` (Debian's package), a client far lighter than
/// this process's, so that the API has the cores to itself.
mod wrk {
    use std::collections::BTreeMap;
    use std::process::Command;
    use std::time::Duration;

    use super::{CLIENTS, Samples};

    pub fn installed() -> bool {
        Command::new("wrk").arg("--version").output().is_ok()
    }

    /// `wrk --latency` on `url` for `duration`: GET, or POST of `body`.
    pub fn load(
        url: &str,
        token: &str,
        body: Option<&str>,
        duration: Duration,
    ) -> anyhow::Result<Samples> {
        let dir = tempfile::tempdir()?;
        let script = dir.path().join("request.lua");
        let mut lua = format!("wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n");
        if let Some(body) = body {
            lua.push_str("wrk.method = \"POST\"\n");
            lua.push_str("wrk.headers[\"Content-Type\"] = \"application/json\"\n");
            lua.push_str(&format!("wrk.body = [[{body}]]\n"));
        }
        std::fs::write(&script, lua)?;
        let out = Command::new("wrk")
            .args([
                "-t2",
                &format!("-c{CLIENTS}"),
                &format!("-d{}s", duration.as_secs()),
            ])
            .args(["--timeout", "30s", "--latency", "-s"])
            .arg(&script)
            .arg(url)
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        anyhow::ensure!(out.status.success(), "wrk failed: {text}");
        parse(&text, duration)
    }

    /// The figures of wrk's report.
    fn parse(text: &str, duration: Duration) -> anyhow::Result<Samples> {
        let field = |prefix: &str| {
            text.lines()
                .map(str::trim)
                .find_map(|l| l.strip_prefix(prefix))
                .map(|rest| rest.split_whitespace().next().unwrap_or("").to_owned())
        };
        // "Latency  <avg> <stdev> <max> <+/- stdev>" among the thread stats.
        let max = text
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix("Latency "))
            .and_then(|rest| rest.split_whitespace().nth(2))
            .map(str::to_owned);
        let ms = |prefix: &str| -> anyhow::Result<Duration> {
            let v = match prefix {
                "Max" => max.clone(),
                _ => field(prefix),
            }
            .ok_or_else(|| anyhow::anyhow!("no {prefix} in\n{text}"))?;
            let (number, unit) = v.split_at(v.find(|c: char| c.is_alphabetic()).unwrap_or(v.len()));
            let n: f64 = number.parse()?;
            let secs = match unit {
                "us" => n / 1e6,
                "ms" => n / 1e3,
                "s" => n,
                "m" => n * 60.0,
                other => anyhow::bail!("unit {other:?} in wrk's report"),
            };
            Ok(Duration::from_secs_f64(secs))
        };
        let requests: usize = text
            .lines()
            .find_map(|l| l.trim().split_once(" requests in "))
            .and_then(|(n, _)| n.trim().parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no request count in\n{text}"))?;
        let failed: usize = field("Non-2xx or 3xx responses:")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let errors: usize = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Socket errors:"))
            .map(|rest| {
                rest.split(',')
                    .filter_map(|part| part.split_whitespace().nth(1)?.parse::<usize>().ok())
                    .sum()
            })
            .unwrap_or(0);
        let mut statuses = BTreeMap::new();
        statuses.insert(200, requests.saturating_sub(failed));
        if failed > 0 {
            statuses.insert(500, failed);
        }
        if errors > 0 {
            statuses.insert(0, errors);
        }
        Ok(Samples {
            latencies: Vec::new(),
            percentiles: Some((ms("50%")?, ms("99%")?, ms("Max")?)),
            requests,
            statuses,
            elapsed: duration,
        })
    }
}

/// What the clients saw, before the percentiles.
struct Samples {
    latencies: Vec<Duration>,
    /// p50, p99 and max as a client that keeps no samples reports them.
    percentiles: Option<(Duration, Duration, Duration)>,
    requests: usize,
    /// 2xx as 200 and others as 500 when the client counts no more.
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
        let (p50, p99, max) = self
            .percentiles
            .unwrap_or_else(|| (at(0.50), at(0.99), at(1.0)));
        Load {
            what: what.to_owned(),
            requests: self.requests.max(self.latencies.len()),
            elapsed: self.elapsed,
            p50,
            p99,
            max,
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
        percentiles: None,
        requests: 0,
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
