//! Continuous replication (issue 18) with real processes: a worker with
//! replication on captures what another process commits into a lineage
//! under `<backup_root>/wal/`, which rebuilds the database page for page;
//! the application never sees a lock error meanwhile, and of two workers
//! only the one holding the lease replicates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nexus_e2e::{TestApp, eventually, integrity};
use nexus_shared::engine::replica;
use serde_json::Value;

fn replicating_app() -> TestApp {
    TestApp::builder()
        .db_size_mb(5)
        .env("NEXUS_REPLICATION", "on")
        .env("NEXUS_REPLICATION_INTERVAL_MS", "200")
        .spawn()
}

/// The lineage folders that have a base.
fn lineages(app: &TestApp) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(app.backup_root().join("wal")) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join(replica::BASE_RECORD).exists())
        .collect();
    dirs.sort();
    dirs
}

fn pages_of(path: &Path) -> BTreeMap<u32, Vec<u8>> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT pgno, data FROM sqlite_dbpage('main') ORDER BY pgno")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn every_commit_of_another_process_is_captured_and_the_lineage_rebuilds_the_database() {
    let app = replicating_app();
    let lineage = eventually(
        "the replicator's base",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || {
            lineages(&app)
                .pop()
                .ok_or_else(|| "no lineage yet".to_owned())
        },
    );

    // busy_timeout 0: a moment the replicator made the application wait
    // would be an error.
    let writer = Command::new(env!("CARGO_BIN_EXE_itsm-writer"))
        .arg(&app.db_path)
        .arg("6")
        .arg("0")
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&writer.stdout).unwrap();

    assert_eq!(report["errors"], 0, "the writer hit errors: {report}");
    assert!(report["commits"].as_u64().unwrap() > 100, "{report}");
    let mut wal = app.db_path.as_os_str().to_owned();
    wal.push("-wal");
    let wal_bytes = std::fs::metadata(&wal).map_or(0, |m| m.len());
    // A WAL that never started over would hold every page of the writer's
    // thousands of commits a second; the replicator's checkpoints and
    // let-goes keep it to about what one capture interval writes.
    assert!(
        wal_bytes < 64 << 20,
        "the replicator's checkpoints keep the WAL bounded: {wal_bytes} bytes after {report}"
    );
    let live = pages_of(&app.db_path);
    let mut attempt = 0;
    let rebuilt = eventually(
        "the chain to catch up with the last commit",
        Duration::from_secs(10),
        Duration::from_millis(250),
        || {
            attempt += 1;
            let dest = app.dir.path().join(format!("rebuilt-{attempt}.db"));
            let replayed = replica::replay(&lineage, None, &dest).map_err(|e| e.to_string())?;
            if pages_of(&dest) == live {
                Ok((dest, replayed))
            } else {
                Err(format!("{replayed:?} is not the live database yet"))
            }
        },
    );
    let (dest, replayed) = rebuilt;
    assert!(replayed.segments >= 3, "{replayed:?}");
    assert_eq!(integrity(&dest), "ok");
    let logs = app.logs();
    assert!(
        logs.contains("replicating the database: base written"),
        "{logs}"
    );

    let token = app.admin_token();
    let (status, window) = app.get_json(&token, "/api/v1/recovery-window");
    assert_eq!(status, 200, "{window}");
    assert_eq!(window["enabled"], true);
    assert_eq!(
        window["lineage"].as_str().unwrap(),
        lineage.file_name().unwrap().to_str().unwrap()
    );
    assert!(
        window["segments"].as_u64().unwrap() >= replayed.segments,
        "{window}"
    );
    assert!(window["bytes"].as_u64().unwrap() > 0, "{window}");
    assert!(
        window["lag_ms"].as_i64().unwrap() < 3_000,
        "the replicator keeps the chain current while idle: {window}"
    );
    let metrics = app
        .client()
        .get(app.url("/metrics"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .text()
        .unwrap();
    for family in [
        "nexus_replication_lag_seconds",
        "nexus_replication_segments",
        "nexus_replication_bytes",
    ] {
        assert!(
            metrics.contains(&format!("\n{family} ")),
            "{family} missing:\n{metrics}"
        );
    }
    let time =
        |key: &str| chrono::DateTime::parse_from_rfc3339(window[key].as_str().unwrap()).unwrap();
    assert!(time("earliest") <= time("latest"), "{window}");
}

#[test]
fn without_replication_the_recovery_window_is_empty() {
    let app = TestApp::builder().db_size_mb(1).spawn();
    let token = app.admin_token();

    let (status, window) = app.get_json(&token, "/api/v1/recovery-window");

    assert_eq!(status, 200, "{window}");
    assert_eq!(window["enabled"], false);
    assert_eq!(window["latest"], Value::Null);
    assert_eq!(window["lag_ms"], Value::Null);
    assert_eq!(window["segments"], 0);
    assert!(!app.backup_root().join("wal").exists());
}

#[test]
fn of_two_workers_only_the_one_holding_the_lease_replicates() {
    let app = replicating_app();
    let _second = app.spawn_worker(&["--no-scheduler"]);
    eventually(
        "one lineage",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || match lineages(&app).len() {
            1 => Ok(()),
            n => Err(format!("{n} lineages")),
        },
    );
    let extra_log = std::fs::read_to_string(app.dir.path().join("worker-extra.log")).unwrap();
    let own_log = std::fs::read_to_string(app.dir.path().join("worker.log")).unwrap();

    std::thread::sleep(Duration::from_secs(2));

    assert_eq!(
        lineages(&app).len(),
        1,
        "a second worker started a lineage too"
    );
    let told = |log: &str| log.contains("another worker replicates the database");
    let extra_log =
        extra_log + &std::fs::read_to_string(app.dir.path().join("worker-extra.log")).unwrap();
    let own_log = own_log + &std::fs::read_to_string(app.dir.path().join("worker.log")).unwrap();
    assert!(
        told(&extra_log) ^ told(&own_log),
        "exactly one worker waits for the lease:\n{own_log}\n---\n{extra_log}"
    );
}

#[test]
fn a_database_not_in_wal_mode_is_said_so_and_left_in_its_journal_mode() {
    let app = TestApp::builder()
        .db_size_mb(0)
        .env("NEXUS_REPLICATION", "on")
        .without_worker()
        .spawn();
    let mut app = app;
    {
        let conn = rusqlite::Connection::open(&app.db_path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = DELETE; CREATE TABLE t (x); INSERT INTO t VALUES (1);",
        )
        .unwrap();
    }
    app.start_worker();

    app.eventually(
        "the replicator's word on the journal mode",
        Duration::from_secs(20),
        Duration::from_millis(100),
        || {
            let logs = app.logs();
            if logs.contains("not in WAL mode: continuous replication is off for it") {
                Ok(())
            } else {
                Err("not yet".into())
            }
        },
    );
    let conn = rusqlite::Connection::open(&app.db_path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
    assert!(lineages(&app).is_empty());
}

fn writer(app: &TestApp, seconds: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_itsm-writer"))
        .arg(&app.db_path)
        .arg(seconds)
        .arg("0")
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn nexus_backup(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(nexus_e2e::binary("nexus-backup"))
        .env_clear()
        .envs(&app.env)
        .current_dir(app.dir.path())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_restores_the_database_as_it_was_between_two_bursts_of_writes() {
    let app = replicating_app();
    eventually(
        "the replicator's base",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || {
            lineages(&app)
                .pop()
                .ok_or_else(|| "no lineage yet".to_owned())
        },
    );
    assert_eq!(writer(&app, "2")["errors"], 0);
    // Quiet for several capture intervals: the state at `between` is the
    // one the first burst left.
    std::thread::sleep(Duration::from_millis(1_000));
    let rows_between = nexus_e2e::count_rows(&app.db_path, "incidents");
    let between = chrono::Utc::now();
    std::thread::sleep(Duration::from_millis(1_000));
    assert_eq!(writer(&app, "2")["errors"], 0);
    assert!(nexus_e2e::count_rows(&app.db_path, "incidents") > rows_between);

    let dest = app.dir.path().join("as-it-was.db");
    let (code, stdout, stderr) = nexus_backup(
        &app,
        &[
            "restore",
            "--at",
            &between.to_rfc3339(),
            "--to",
            dest.to_str().unwrap(),
        ],
    );

    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("Restored the database as of"), "{stdout}");
    assert_eq!(nexus_e2e::count_rows(&dest, "incidents"), rows_between);
    assert_eq!(integrity(&dest), "ok");
    let (code, _, stderr) = nexus_backup(
        &app,
        &[
            "restore",
            "--at",
            &between.to_rfc3339(),
            "--to",
            dest.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 5, "an existing file is never overwritten: {stderr}");
    assert!(stderr.contains("destination_exists"), "{stderr}");
    let (code, _, stderr) = nexus_backup(&app, &["restore", "--at", "yesterday", "--to", "x.db"]);
    assert_eq!(code, 64, "{stderr}");
    let (code, _, stderr) = nexus_backup(&app, &["restore", "--at", &between.to_rfc3339()]);
    assert_eq!(
        code, 64,
        "the live database needs its own confirmation: {stderr}"
    );
    let (code, _, stderr) = nexus_backup(
        &app,
        &["restore", "--at", "2000-01-01T00:00:00Z", "--to", "old.db"],
    );
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains("outside_recovery_window"), "{stderr}");
}

#[test]
fn a_restore_of_the_live_database_while_replicating_succeeds_and_the_chain_follows_it() {
    let app = replicating_app();
    let token = app.admin_token();
    eventually(
        "the replicator's base",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || {
            lineages(&app)
                .pop()
                .ok_or_else(|| "no lineage yet".to_owned())
        },
    );
    let (_, accepted) = app.post_backup(&token, &serde_json::json!({"type": "manual"}));
    let id = accepted["backup_id"].as_str().unwrap().to_owned();
    let done = app.wait_until_terminal(&token, &id, Duration::from_secs(60));
    assert_eq!(done["status"], "success", "{done}");
    let rows_in_backup = nexus_e2e::count_rows(&app.db_path, "incidents");
    assert_eq!(writer(&app, "1")["errors"], 0);

    let response = app
        .client()
        .post(app.url(&format!("/api/v1/backups/{id}/restore")))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "confirm": id }))
        .send()
        .unwrap();
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().unwrap();
    let restore_id = accepted["restore_id"].as_str().unwrap().to_owned();
    let restored = app.eventually(
        "the restore to finish",
        Duration::from_secs(120),
        Duration::from_millis(100),
        || {
            let (_, body) = app.get_json(&token, &format!("/api/v1/restores/{restore_id}"));
            if body["status"] != "in_progress" {
                Ok(body)
            } else {
                Err(body.to_string())
            }
        },
    );

    assert_eq!(restored["status"], "success", "{restored}");
    assert_eq!(
        nexus_e2e::count_rows(&app.db_path, "incidents"),
        rows_in_backup
    );
    let live = pages_of(&app.db_path);
    let mut attempt = 0;
    app.eventually(
        "the newest lineage to hold the restored database",
        Duration::from_secs(20),
        Duration::from_millis(250),
        || {
            attempt += 1;
            let lineage = lineages(&app).pop().ok_or("no lineage")?;
            let dest = app.dir.path().join(format!("after-restore-{attempt}.db"));
            replica::replay(&lineage, None, &dest).map_err(|e| e.to_string())?;
            (pages_of(&dest) == live)
                .then_some(())
                .ok_or_else(|| "not yet".to_owned())
        },
    );
}

#[test]
fn a_worker_stopped_and_started_again_goes_on_with_its_lineage_and_captures_what_came_meanwhile() {
    let mut app = replicating_app();
    let lineage = eventually(
        "the replicator's base",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || {
            lineages(&app)
                .pop()
                .ok_or_else(|| "no lineage yet".to_owned())
        },
    );
    assert_eq!(writer(&app, "1")["errors"], 0);
    std::thread::sleep(Duration::from_millis(600));

    assert!(app.stop_worker().success());
    assert!(
        lineage.join(replica::TAP_STATE).exists(),
        "the state is kept"
    );
    assert_eq!(writer(&app, "1")["errors"], 0);
    app.start_worker();

    let live = pages_of(&app.db_path);
    let mut attempt = 0;
    app.eventually(
        "the chain to hold what was committed while the worker was down",
        Duration::from_secs(20),
        Duration::from_millis(250),
        || {
            attempt += 1;
            let dest = app.dir.path().join(format!("resumed-{attempt}.db"));
            replica::replay(&lineage, None, &dest).map_err(|e| e.to_string())?;
            (pages_of(&dest) == live)
                .then_some(())
                .ok_or_else(|| "not yet".to_owned())
        },
    );
    assert_eq!(
        lineages(&app),
        vec![lineage.clone()],
        "no new base was written"
    );
    assert!(
        !lineage.join(replica::TAP_STATE).exists(),
        "the state is used once"
    );
    let logs = app.logs();
    assert!(
        logs.contains("going on with the lineage it stopped in"),
        "{logs}"
    );
}
