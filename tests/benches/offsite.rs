//! `make bench-offsite`: what an offsite copy costs, measured against a real
//! S3-compatible server on loopback (s3s-fs): the upload with its read-back
//! check, plain and encrypted, and the offsite verify, for a backup of a
//! generated ITSM database (`NEXUS_BENCH_MB`, default 1000). Loopback has
//! no network limit, so these are the service's own costs (reading,
//! hashing, encrypting, the S3 protocol), the floor under any real uplink.

use std::time::{Duration, Instant};

use nexus_e2e::TestApp;
use nexus_e2e::s3::S3Server;
use nexus_shared::fsutil::human_size;
use serde_json::{Value, json};

fn main() -> anyhow::Result<()> {
    let mb: u64 = std::env::var("NEXUS_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let data = nexus_e2e::binary("nexus-worker")
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("bench-data");
    std::fs::create_dir_all(&data)?;
    let db = data.join(format!("itsm_nexus_{mb}mb.db"));
    if !db.exists() {
        nexus_shared::demo::generate(&db, mb * 1_000_000)?;
    }
    println!(
        "database: {} ({})",
        db.display(),
        human_size(std::fs::metadata(&db)?.len())
    );
    let keys = tempfile::tempdir()?;
    let key = keys.path().join("offsite.key");
    nexus_shared::offsite::Key::generate(&key)?;

    println!(
        "\n{:<52} {:>10} {:>9} {:>8}",
        "offsite step (s3s-fs on loopback)", "object", "seconds", "MB/s"
    );
    for (label, encrypt) in [("plain", false), ("encrypted (age)", true)] {
        let s3 = S3Server::start();
        let mut builder = TestApp::builder().db_size_mb(0).without_worker();
        for (name, value) in s3.env("bench") {
            builder = builder.env(name, &value);
        }
        if encrypt {
            builder = builder.env("NEXUS_OFFSITE_ENCRYPTION_KEY_FILE", key.to_str().unwrap());
        }
        let mut app = builder.spawn();
        std::fs::copy(&db, &app.db_path)?;
        app.start_worker();
        let token = app.admin_token();
        let (status, accepted) = app.post_backup(&token, &json!({"type": "manual"}));
        anyhow::ensure!(status.is_success(), "{accepted}");
        let id = accepted["backup_id"].as_str().unwrap().to_owned();
        let done = app.wait_until_terminal(&token, &id, Duration::from_secs(1800));
        anyhow::ensure!(done["status"] == "success", "{done}");
        let start = Instant::now();
        let view = wait(&app, &token, &id, |v| {
            v["copies"]["offsite"]["state"] == "stored"
        });
        // Includes up to one poll interval of the queue.
        let upload = start.elapsed();
        let size = view["copies"]["offsite"]["object_size"].as_u64().unwrap();
        row(&format!("upload + read-back, {label}"), size, upload);

        let start = Instant::now();
        let r = app
            .client()
            .post(app.url(&format!("/api/v1/backups/{id}/offsite/verify")))
            .bearer_auth(&token)
            .json(&json!({}))
            .send()?;
        anyhow::ensure!(r.status().is_success(), "{}", r.text()?);
        let checked = wait(&app, &token, &id, |v| {
            !v["copies"]["offsite"]["check_result"].is_null()
        });
        anyhow::ensure!(
            checked["copies"]["offsite"]["check_result"] == "pass",
            "{checked}"
        );
        row(
            &format!("offsite verify (fetch + 5 checks), {label}"),
            size,
            start.elapsed(),
        );
    }
    Ok(())
}

fn row(label: &str, bytes: u64, took: Duration) {
    println!(
        "{label:<52} {:>10} {:>9.2} {:>8.0}",
        human_size(bytes),
        took.as_secs_f64(),
        bytes as f64 / 1e6 / took.as_secs_f64()
    );
}

fn wait(app: &TestApp, token: &str, id: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let view = app.get_backup(token, id);
        if ready(&view) {
            return view;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1800),
            "gave up waiting: {view}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
