//! The operators' command line (guide §4.2, appendix A and B): the log
//! lines, the exit codes with their real causes, `--json`, and the same
//! catalog as the API.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nexus_e2e::TestApp;
use nexus_e2e::tmpfs::Tmpfs;
use serde_json::{Value, json};

/// What one run of `nexus-backup` did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn run(mut command: Command) -> Run {
    let out = command.output().expect("run nexus-backup");
    Run {
        code: out.status.code().expect("an exit code"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn command(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(nexus_e2e::binary("nexus-backup"));
    c.env_clear()
        .envs(&app.env)
        .envs(env.iter().copied())
        .current_dir(app.dir.path())
        .args(args);
    c
}

fn cli(app: &TestApp, args: &[&str]) -> Run {
    run(command(app, args, &[]))
}

fn cli_env(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> Run {
    run(command(app, args, env))
}

/// Takes a backup with the CLI and returns it as `--json` printed it.
fn backup(app: &TestApp, backup_type: &str) -> Value {
    let r = cli(app, &["backup", "--type", backup_type, "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let b = r.json();
    assert_eq!(b["status"], "success", "{r:?}");
    b
}

#[test]
fn a_cli_backup_prints_the_guides_log_lines_and_both_front_ends_see_both_backups() {
    let app = TestApp::spawn();
    let r = cli(&app, &["backup", "--description", "デプロイ前バックアップ"]);
    assert_eq!(r.code, 0, "{r:?}");

    let lines: Vec<&str> = r.stdout.lines().collect();
    for line in &lines {
        assert!(
            regex_free_stamp_check(line),
            "not a `[YYYY-MM-DD HH:MM:SS] ` line: {line:?}"
        );
    }
    let messages: Vec<&str> = lines.iter().map(|l| &l[22..]).collect();
    let in_order = [
        "Starting backup (type: manual)",
        "Database size: ",
        "Available disk space: ",
        "Creating backup...",
        "Backup created: ",
        "Running integrity check...",
        "Compressing backup...",
        "Compression complete (",
        "Backup completed successfully",
        "File: ",
        "Checksum: sha256:",
    ];
    let mut at = 0;
    for wanted in in_order {
        let found = messages[at..].iter().position(|m| m.starts_with(wanted));
        let found =
            found.unwrap_or_else(|| panic!("{wanted:?} missing or out of order in {messages:#?}"));
        at += found + 1;
    }
    assert!(messages.contains(&"Integrity check: OK"), "{messages:#?}");
    let file = messages
        .iter()
        .find_map(|m| m.strip_prefix("File: "))
        .unwrap();
    assert!(Path::new(file).is_file(), "{file}");
    assert!(file.starts_with(app.backup_root().to_str().unwrap()) && file.ends_with(".db.gz"));

    // One backup by each front end; each front end lists both.
    let cli_backup = backup(&app, "manual");
    let token = app.admin_token();
    let (_, posted) = app.post_backup(&token, &json!({"type": "manual"}));
    let api_id = posted["backup_id"].as_str().unwrap().to_owned();
    let done = app.wait_until_terminal(&token, &api_id, Duration::from_secs(60));
    assert_eq!(done["status"], "success", "{done}");
    let cli_id = cli_backup["backup_id"].as_str().unwrap();

    let listed = cli(&app, &["list", "--json"]).json();
    let ids: Vec<&str> = listed["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["backup_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&cli_id) && ids.contains(&api_id.as_str()),
        "{listed}"
    );
    assert_eq!(listed["total"], 3);
    let (_, api_list) = app.get_json(&token, "/api/v1/backups");
    let api_ids: Vec<&str> = api_list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["backup_id"].as_str().unwrap())
        .collect();
    assert!(
        api_ids.contains(&cli_id) && api_ids.contains(&api_id.as_str()),
        "{api_list}"
    );

    // The CLI's shapes use the API's field names.
    let shown = cli(&app, &["show", cli_id, "--json"]).json();
    let api_shown = app.get_backup(&token, cli_id);
    for field in [
        "backup_id",
        "backup_type",
        "status",
        "file_path",
        "file_size",
        "original_size",
        "checksum",
        "started_at",
        "completed_at",
    ] {
        assert_eq!(
            shown[field], api_shown[field],
            "{field}: {shown} vs {api_shown}"
        );
    }
    assert_eq!(shown["created_by"]["username"], "root");
    let status = cli(&app, &["status", "--json"]).json();
    assert_eq!(status["worker_alive"], true, "{status}");
    assert!(
        status["storage"]["total_bytes"].as_u64().unwrap() > 0,
        "{status}"
    );
    let schedules = status["schedules"].as_array().unwrap();
    assert!(
        schedules
            .iter()
            .any(|s| s["name"] == "daily" && s.get("next_run").is_some()),
        "{status}"
    );
}

/// The log lines of a run without their stamps, each cut before its first
/// figure or path, so two backups' lines can be compared.
fn line_shapes(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|l| {
            let message = &l[22..];
            let cut = message
                .find(|c: char| c.is_ascii_digit() || c == '/')
                .unwrap_or(message.len());
            message[..cut].to_owned()
        })
        .collect()
}

#[test]
fn a_backup_a_worker_runs_prints_the_same_lines_as_one_run_in_process() {
    let app = TestApp::spawn();
    let followed = cli(&app, &["backup"]);
    assert_eq!(followed.code, 0, "{followed:?}");
    let in_process = cli(&app, &["backup", "--in-process"]);
    assert_eq!(in_process.code, 0, "{in_process:?}");

    assert_eq!(
        line_shapes(&followed.stdout),
        line_shapes(&in_process.stdout),
        "followed:\n{}\nin process:\n{}",
        followed.stdout,
        in_process.stdout
    );
    let listed = cli(&app, &["list", "--json"]).json();
    let followed_id = listed["backups"][1]["backup_id"].as_str().unwrap();
    let followed_id = nexus_shared::domain::BackupId::parse(followed_id).unwrap();
    let created = format!(
        "Backup created: {}",
        app.backup_root()
            .join(followed_id.relative_path())
            .with_extension("")
            .display()
    );
    assert!(
        followed.stdout.lines().any(|l| l[22..] == created),
        "{created:?} missing:\n{}",
        followed.stdout
    );
}

/// `[YYYY-MM-DD HH:MM:SS] ` (the regex `^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] `).
fn regex_free_stamp_check(line: &str) -> bool {
    let b = line.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        range
            .clone()
            .all(|i| b.get(i).is_some_and(u8::is_ascii_digit))
    };
    b.len() > 22
        && b[0] == b'['
        && digits(1..5)
        && b[5] == b'-'
        && digits(6..8)
        && b[8] == b'-'
        && digits(9..11)
        && b[11] == b' '
        && digits(12..14)
        && b[14] == b':'
        && digits(15..17)
        && b[17] == b':'
        && digits(18..20)
        && &line[20..22] == "] "
}

#[test]
fn a_missing_database_exits_2() {
    let app = TestApp::builder().without_worker().spawn();
    let missing = app.dir.path().join("nowhere.db");
    let r = cli_env(
        &app,
        &["backup"],
        &[("NEXUS_DB_PATH", missing.to_str().unwrap())],
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.contains("Backup failed"), "{r:?}");
}

#[test]
fn a_backup_root_on_a_filesystem_too_small_exits_1() {
    let app = TestApp::builder().without_worker().spawn();
    let small = Tmpfs::mount(&app.dir.path().join("small"), "1m");
    let r = cli_env(
        &app,
        &["backup"],
        &[("NEXUS_BACKUP_ROOT", small.path().to_str().unwrap())],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("disk"), "{r:?}");
}

#[test]
fn an_unwritable_backup_root_exits_4() {
    // The CLI runs as `nobody`, with a data folder and a database it may
    // use, and a backup root that root owns.
    let app = TestApp::builder().without_worker().spawn();
    let place = tempfile::tempdir().unwrap();
    std::fs::set_permissions(place.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (data, db, root) = (
        place.path().join("data"),
        place.path().join("itsm.db"),
        place.path().join("backups"),
    );
    std::fs::create_dir(&data).unwrap();
    std::os::unix::fs::chown(&data, Some(65534), Some(65534)).unwrap();
    std::fs::copy(&app.db_path, &db).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::create_dir(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(nexus_e2e::binary("nexus-backup"))
        .arg("backup")
        .env_clear()
        .envs(&app.env)
        .env("NEXUS_DATA_DIR", &data)
        .env("NEXUS_DB_PATH", &db)
        .env("NEXUS_BACKUP_ROOT", &root)
        .current_dir(place.path());
    let r = run(c);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.to_lowercase().contains("permission"), "{r:?}");
}

#[test]
fn usage_errors_exit_64() {
    let app = TestApp::builder().without_worker().spawn();
    for args in [
        vec!["backup", "--type", "hourly"],
        vec!["backup", "--no-such-flag"],
        vec!["verify"],
        vec!["show", "not-an-id"],
        vec!["restore", "BKP-20260131-143025-manual"],
        vec!["audit", "export", "--format", "xml"],
    ] {
        let r = cli(&app, &args);
        assert_eq!(r.code, 64, "{args:?}: {r:?}");
    }
    let help = cli(&app, &["restore", "--help"]);
    assert_eq!(help.code, 0, "{help:?}");
    assert!(
        help.stdout.contains("--yes") && help.stdout.contains("--to"),
        "{help:?}"
    );
}

#[test]
fn a_corrupted_backup_fails_verification_with_exit_3_naming_the_check() {
    let app = TestApp::spawn();
    let b = backup(&app, "manual");
    let id = b["backup_id"].as_str().unwrap();

    let passed = cli(&app, &["verify", id, "--json"]);
    assert_eq!(passed.code, 0, "{passed:?}");
    let v = passed.json();
    assert_eq!(v["status"], "pass", "{v}");
    let names: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "file_exists",
            "file_size",
            "checksum",
            "decompress",
            "sqlite_integrity"
        ]
    );

    let file = PathBuf::from(b["file_path"].as_str().unwrap());
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();

    let failed = cli(&app, &["verify", id]);
    assert_eq!(failed.code, 3, "{failed:?}");
    let checksum_line = failed
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("checksum"))
        .expect("a checksum line");
    assert!(checksum_line.contains("FAIL"), "{failed:?}");
    assert!(
        failed.stderr.contains("integrity check failed"),
        "{failed:?}"
    );
    // Recorded like the worker's: the API sees the failed verification.
    let token = app.admin_token();
    let (_, history) = app.get_json(&token, &format!("/api/v1/backups/{id}/verifications"));
    assert_eq!(history["verifications"][0]["status"], "fail", "{history}");

    let all = cli(&app, &["verify", "--all", "--json"]);
    assert_eq!(all.code, 3, "{all:?}");
    assert_eq!(all.json()["failed"], 1);
}

#[test]
fn deleting_the_newest_daily_backup_is_refused_and_prune_dry_run_lists_the_expired_one() {
    let app = TestApp::spawn();
    let older = backup(&app, "daily")["backup_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let newest = backup(&app, "daily")["backup_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let refused = cli(&app, &["delete", &newest]);
    assert_eq!(refused.code, 5, "{refused:?}");
    assert!(
        refused.stderr.contains("latest_backup_protected") && refused.stderr.contains("newest"),
        "{refused:?}"
    );

    // With daily backups kept 0 days, the older one has expired.
    let keep_none = [("NEXUS_RETENTION_DAILY_DAYS", "0")];
    let dry = cli_env(&app, &["prune", "--dry-run"], &keep_none);
    assert_eq!(dry.code, 0, "{dry:?}");
    assert!(
        dry.stdout.contains(&older) && !dry.stdout.contains(&newest),
        "{dry:?}"
    );
    let listed = cli_env(&app, &["prune", "--dry-run", "--json"], &keep_none).json();
    let would: Vec<&str> = listed["would_delete"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["backup_id"].as_str().unwrap())
        .collect();
    assert_eq!(would, [older.as_str()], "{listed}");
    assert_eq!(
        cli(&app, &["list", "--json"]).json()["total"],
        2,
        "a dry run deletes nothing"
    );

    let deleted = cli(&app, &["delete", &older]);
    assert_eq!(deleted.code, 0, "{deleted:?}");
    let audit = app.catalog().list_audit(100, 0).unwrap();
    let deletes: Vec<_> = audit
        .iter()
        .filter(|a| a.action == "backup.delete")
        .collect();
    assert_eq!(deletes.len(), 2, "{audit:#?}");
    assert!(
        deletes
            .iter()
            .all(|a| a.source == "cli" && a.actor == "root"),
        "{deletes:#?}"
    );
    assert_eq!(deletes.iter().filter(|a| a.result == "failure").count(), 1);
}

#[test]
fn audit_verify_passes_then_finds_a_tampered_record_and_the_export_parses() {
    let app = TestApp::spawn();
    backup(&app, "manual");
    let ok = cli(&app, &["audit", "verify"]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(ok.stdout.starts_with("OK"), "{ok:?}");

    let jsonl = cli(&app, &["audit", "export", "--format", "jsonl"]);
    assert_eq!(jsonl.code, 0, "{jsonl:?}");
    let records: Vec<Value> = jsonl
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(records.len() >= 2, "{jsonl:?}");
    let ids: Vec<i64> = records.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");
    assert!(
        records
            .iter()
            .any(|r| r["action"] == "backup.create" && r["source"] == "cli"),
        "{jsonl:?}"
    );

    let csv = cli(&app, &["audit", "export", "--format", "csv"]);
    assert_eq!(csv.code, 0, "{csv:?}");
    let mut lines = csv.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("id,occurred_at,actor,source,remote_addr,action,target,result,detail")
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= records.len(), "{csv:?}");
    assert!(rows[0].starts_with(&format!("{},", ids[0])), "{csv:?}");

    let catalog = app.catalog();
    let conn = rusqlite::Connection::open(catalog.path()).unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_logs_are_append_only_update;
         DROP TRIGGER audit_logs_are_append_only_delete;
         UPDATE audit_logs SET detail = 'nothing to see' WHERE id = 2;",
    )
    .unwrap();
    let broken = cli(&app, &["audit", "verify"]);
    assert_eq!(broken.code, 5, "{broken:?}");
    assert!(broken.stderr.contains("record 2"), "{broken:?}");
}

#[test]
fn restore_writes_a_new_file_with_to_and_the_live_database_with_yes() {
    let app = TestApp::spawn();
    let id = backup(&app, "manual")["backup_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let dest = app.dir.path().join("inspect.db");
    let to = cli(&app, &["restore", &id, "--to", dest.to_str().unwrap()]);
    assert_eq!(to.code, 0, "{to:?}");
    assert_eq!(nexus_e2e::integrity(&dest), "ok");
    let again = cli(&app, &["restore", &id, "--to", dest.to_str().unwrap()]);
    assert_eq!(again.code, 5, "never overwrites: {again:?}");

    let live = cli(&app, &["restore", &id, "--yes", "--json"]);
    assert_eq!(live.code, 0, "{live:?}");
    let r = live.json();
    assert_eq!(r["status"], "success", "{r}");
    assert!(
        r["safety_backup_id"]
            .as_str()
            .unwrap()
            .ends_with("before_restore"),
        "{r}"
    );
    assert_eq!(nexus_e2e::integrity(&app.db_path), "ok");
}
