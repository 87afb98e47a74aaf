//! Settings as the real binaries read them: every variable reaches its
//! setting (the compression level changes the file), a bad value stops a
//! process at start-up naming the variable, an unknown one is warned
//! about, the JSON log format, and `--version` on every binary.

use std::process::Command;
use std::time::Duration;

use nexus_e2e::{TestApp, binary};
use serde_json::Value;

fn run(app: &TestApp, program: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(binary(program))
        .env_clear()
        .envs(&app.env)
        .envs(env.iter().copied())
        .current_dir(app.dir.path())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn backup_size_at_level(app: &TestApp, level: &str) -> u64 {
    let (code, stdout, stderr) = run(
        app,
        "nexus-backup",
        &["backup", "--in-process", "--json"],
        &[("NEXUS_COMPRESSION_LEVEL", level)],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let backup: Value = serde_json::from_str(&stdout).unwrap();
    backup["file_size"].as_u64().unwrap()
}

#[test]
fn the_compression_level_from_the_environment_changes_the_backup_file() {
    let app = TestApp::builder().db_size_mb(8).without_worker().spawn();
    let fast = backup_size_at_level(&app, "1");
    let small = backup_size_at_level(&app, "9");
    assert!(
        fast > small,
        "level 1: {fast} bytes, level 9: {small} bytes"
    );
}

#[test]
fn a_bad_value_stops_every_binary_at_start_up_naming_the_variable() {
    let app = TestApp::builder().db_size_mb(1).without_worker().spawn();
    let bad = [("NEXUS_COMPRESSION_LEVEL", "99")];
    for (program, args) in [
        ("nexus-worker", &[][..]),
        ("nexus-api", &[][..]),
        ("nexus-backup", &["list"][..]),
    ] {
        let started = std::time::Instant::now();
        let (code, stdout, stderr) = run(&app, program, args, &bad);
        assert_ne!(code, 0, "{program} started:\n{stdout}\n{stderr}");
        assert!(
            stderr.contains("NEXUS_COMPRESSION_LEVEL") && stderr.contains("1 (fastest) to 12"),
            "{program}:\n{stderr}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{program} took long to refuse"
        );
    }
}

#[test]
fn an_unknown_variable_is_warned_about_with_the_name_it_resembles() {
    let app = TestApp::builder().db_size_mb(1).without_worker().spawn();
    let (code, _, stderr) = run(
        &app,
        "nexus-backup",
        &["list"],
        &[("NEXUS_COMPRESION_LEVEL", "9")],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("NEXUS_COMPRESION_LEVEL is not a setting and is ignored")
            && stderr.contains("did you mean NEXUS_COMPRESSION_LEVEL?"),
        "{stderr}"
    );
}

#[test]
fn with_the_json_log_format_every_log_line_is_one_json_object() {
    let app = TestApp::builder()
        .db_size_mb(1)
        .env("NEXUS_LOG_FORMAT", "json")
        .spawn();
    let token = app.admin_token();
    let (_, accepted) = app.post_backup(&token, &serde_json::json!({"type": "manual"}));
    let id = accepted["backup_id"].as_str().unwrap();
    app.wait_until_terminal(&token, id, Duration::from_secs(60));

    let logs = app.logs();
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let object: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}"));
        assert!(
            object["level"].is_string() && object["timestamp"].is_string(),
            "{line}"
        );
    }
    assert!(
        // Logged by the worker before it records the backup as done.
        lines
            .iter()
            .any(|l| l.contains("\"message\":\"Creating backup...\"")),
        "{logs}"
    );
}

#[test]
fn every_binary_says_its_version() {
    let app = TestApp::builder().db_size_mb(1).without_worker().spawn();
    for program in ["nexus-api", "nexus-worker", "nexus-backup"] {
        let (code, stdout, stderr) = run(&app, program, &["--version"], &[]);
        assert_eq!(code, 0, "{program}: {stderr}");
        assert_eq!(
            stdout.trim(),
            format!("{program} {}", env!("CARGO_PKG_VERSION")),
            "{program}"
        );
    }
}

/// The name and nice value of every thread of process `pid` (field 19 of
/// `/proc/<pid>/task/<tid>/stat`, after the command's closing parenthesis).
fn thread_nice_values(pid: u32) -> Vec<(String, i64)> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|task| {
            // A thread may end between the listing and the read.
            let stat = std::fs::read_to_string(task.unwrap().path().join("stat")).ok()?;
            let name = &stat[stat.find('(').unwrap() + 1..stat.rfind(')').unwrap()];
            let after_name = &stat[stat.rfind(')').unwrap() + 2..];
            // Fields from the third (state) on: nice is the 19th field.
            let nice = after_name.split(' ').nth(19 - 3).unwrap().parse().unwrap();
            Some((name.to_owned(), nice))
        })
        .collect()
}

/// Waits until a backup stopped at the test pause point says so, then
/// forgets the signal so that the next one can be awaited.
fn wait_at_pause(go: &std::path::Path) {
    let reached = go.with_extension("reached");
    nexus_e2e::eventually(
        "a backup at its pause point",
        Duration::from_secs(60),
        Duration::from_millis(20),
        || {
            reached
                .exists()
                .then_some(())
                .ok_or_else(|| "not yet".to_owned())
        },
    );
    std::fs::remove_file(&reached).unwrap();
}

#[test]
fn a_backup_runs_at_queue_nice_while_the_workers_own_threads_and_a_restore_keep_full_priority() {
    use nexus_shared::engine::pause;
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let app = TestApp::builder()
        .env(pause::POINT_ENV, "compress")
        .env(pause::FILE_ENV, go.to_str().unwrap())
        .spawn();
    let (api, worker) = app.pids();
    let (api, worker) = (api.unwrap(), worker.unwrap());
    let token = app.admin_token();

    let (_, accepted) = app.post_backup(&token, &serde_json::json!({"type": "manual"}));
    let id = accepted["backup_id"].as_str().unwrap().to_owned();
    wait_at_pause(&go);
    let during_backup = thread_nice_values(worker);
    let (backup, others): (Vec<_>, Vec<_>) =
        during_backup.iter().partition(|(name, _)| name == "backup");
    // The threads it has started (named after it by Linux) with it.
    assert!(
        !backup.is_empty() && backup.iter().all(|(_, nice)| *nice == 10),
        "{during_backup:?}"
    );
    assert!(
        !others.is_empty() && others.iter().all(|(_, nice)| *nice == 0),
        "{during_backup:?}"
    );
    std::fs::write(&go, "").unwrap();
    let done = app.wait_until_terminal(&token, &id, Duration::from_secs(60));
    assert_eq!(done["status"], "success", "{done}");
    // The lowered priority ends with the backup's thread, which ends just
    // after the backup is recorded.
    app.eventually(
        "every thread of the worker at nice 0 again",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || {
            let now = thread_nice_values(worker);
            now.iter()
                .all(|(_, nice)| *nice == 0)
                .then_some(())
                .ok_or_else(|| format!("{now:?}"))
        },
    );

    std::fs::remove_file(&go).unwrap();
    let restore = app
        .client()
        .post(app.url(&format!("/api/v1/backups/{id}/restore")))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "confirm": id }))
        .send()
        .unwrap();
    assert_eq!(restore.status().as_u16(), 202);
    let restore: Value = restore.json().unwrap();
    // The restore's safety backup stops at the same point.
    wait_at_pause(&go);
    let during_restore = thread_nice_values(worker);
    assert!(
        during_restore.iter().all(|(_, nice)| *nice == 0),
        "{during_restore:?}"
    );
    std::fs::write(&go, "").unwrap();
    let path = format!(
        "/api/v1/restores/{}",
        restore["restore_id"].as_str().unwrap()
    );
    let ended = app.eventually(
        "the restore to end",
        Duration::from_secs(60),
        Duration::from_millis(50),
        || {
            let (_, body) = app.get_json(&token, &path);
            (body["status"] != "in_progress")
                .then_some(body.clone())
                .ok_or(body.to_string())
        },
    );
    assert_eq!(ended["status"], "success", "{ended}");
    assert!(thread_nice_values(api).iter().all(|(_, nice)| *nice == 0));
}

#[test]
fn a_nice_value_out_of_range_stops_the_worker_naming_the_setting() {
    let app = TestApp::builder().without_worker().spawn();
    let (code, _, stderr) = run(&app, "nexus-worker", &[], &[("NEXUS_QUEUE_NICE", "20")]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("NEXUS_QUEUE_NICE") || stderr.contains("queue.nice"),
        "{stderr}"
    );
}
