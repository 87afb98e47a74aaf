//! A worker killed with SIGKILL in the middle of a backup: no half-written
//! file ever appears under a final name, and after a worker comes back the
//! backup reaches a terminal state (SPEC §3.6).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nexus_e2e::{TestApp, gunzip_to, integrity};
use nexus_shared::engine::compress::sha256_file;
use serde_json::json;

/// Adds `mb` megabytes of incompressible rows, so the backup takes seconds.
fn grow_database(db: &Path, mb: usize) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("CREATE TABLE attachments (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        .unwrap();
    for _ in 0..mb {
        conn.execute(
            "INSERT INTO attachments (body) VALUES (randomblob(1000000))",
            [],
        )
        .unwrap();
    }
}

/// Watches a folder for final `.db.gz` names and hashes each the moment
/// it first appears: with an atomic rename that is already the whole file.
fn watch_final_names(
    dir: PathBuf,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<(PathBuf, nexus_shared::domain::Checksum)>> {
    std::thread::spawn(move || {
        let mut first_sightings = Vec::new();
        loop {
            // Read the flag before the scan, so the last scan comes after
            // the test saw the job end: a rename just before it is seen.
            let stopping = stop.load(Ordering::SeqCst);
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for entry in entries.flatten() {
                    let path = entry.path();
                    let name = path.file_name().unwrap().to_string_lossy().into_owned();
                    let is_final = name.ends_with(".db.gz") && !name.starts_with('.');
                    if is_final && !first_sightings.iter().any(|(p, _)| p == &path) {
                        let (_, sha) = sha256_file(&path).unwrap();
                        first_sightings.push((path, sha));
                    }
                }
            }
            if stopping {
                break first_sightings;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

#[test]
fn a_worker_killed_mid_backup_leaves_no_partial_file_and_a_restarted_worker_finishes_the_job() {
    let mut app = TestApp::builder().db_size_mb(5).without_worker().spawn();
    grow_database(&app.db_path, 250);
    let token = app.admin_token();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch_final_names(app.backup_root().join("manual"), stop.clone());

    let (_, accepted) = app.post_backup(
        &token,
        &json!({"type": "manual", "description": "crash test"}),
    );
    let id = accepted["backup_id"].as_str().unwrap().to_owned();
    app.start_worker();
    // Kill it once it is well into the work: compressing, after the snapshot.
    app.wait_for_backup(&token, &id, Duration::from_secs(120), |b| {
        b["phase"] == "compress" && b["progress_percent"].as_u64().unwrap() >= 60
    });
    app.kill_worker();

    let killed = app.get_backup(&token, &id);
    assert_eq!(killed["status"], "in_progress", "{killed}");
    let tmp_names: Vec<String> = std::fs::read_dir(app.backup_root().join("manual"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        tmp_names.iter().all(|n| n.starts_with('.')),
        "only temporary names may exist after the kill: {tmp_names:?}"
    );

    app.start_worker();
    let done = app.wait_until_terminal(&token, &id, Duration::from_secs(120));
    stop.store(true, Ordering::SeqCst);
    let sightings = watcher.join().unwrap();

    assert_eq!(done["status"], "success", "{done}");
    let file = PathBuf::from(done["file_path"].as_str().unwrap());
    assert_eq!(sightings.len(), 1, "{sightings:?}");
    assert_eq!(sightings[0].0, file);
    assert_eq!(
        json!(sightings[0].1),
        done["checksum"],
        "the first sight of the final name was already the complete file"
    );
    let restored = app.dir.path().join("restored.db");
    gunzip_to(&file, &restored);
    assert_eq!(integrity(&restored), "ok");
    let names: Vec<String> = std::fs::read_dir(app.backup_root().join("manual"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "temporary files remain: {names:?}"
    );
    assert_eq!(
        std::fs::read_dir(app.backup_root().join(".tmp"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn a_worker_stopped_with_sigterm_finishes_its_running_backup_first() {
    let mut app = TestApp::builder().db_size_mb(5).without_worker().spawn();
    grow_database(&app.db_path, 120);
    let token = app.admin_token();
    let (_, accepted) = app.post_backup(&token, &json!({"type": "manual"}));
    let id = accepted["backup_id"].as_str().unwrap().to_owned();
    app.start_worker();
    app.wait_for_backup(&token, &id, Duration::from_secs(120), |b| {
        b["phase"] != "queued"
    });

    let status = app.stop_worker();

    assert!(status.success(), "graceful stop exits 0: {status:?}");
    let done = app.get_backup(&token, &id);
    assert_eq!(done["status"], "success", "{done}");
}
