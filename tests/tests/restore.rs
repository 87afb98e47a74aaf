//! Restore (SPEC §6): verified first, a `before_restore` safety backup next,
//! then the backup written into the live database while another process
//! keeps it open and reads it; a failure at any point leaves the live
//! database as it was.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use nexus_e2e::reqwest::StatusCode;
use nexus_e2e::smtp::SmtpSink;
use nexus_e2e::tmpfs::Tmpfs;
use nexus_e2e::{TestApp, integrity, run_tool};
use nexus_shared::catalog::{LIVE_DATABASE, NewBackup};
use nexus_shared::domain::{BackupType, Phase, Role};
use nexus_shared::domain::{CreatedBy, ErrorInfo};
use nexus_shared::settings::Settings;
use serde_json::{Value, json};

type State = [i64; 3];

/// Numbers of incidents, changes and audit logs: what `itsm-reader` reports.
fn state(db: &Path) -> State {
    let conn = rusqlite::Connection::open(db).unwrap();
    ["incidents", "changes", "audit_logs"].map(|table| {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    })
}

/// What the application does between the backup and the restore: closes
/// 25 incidents for good and records 7 changes.
fn change_live_database(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         DELETE FROM incidents WHERE id IN (SELECT id FROM incidents ORDER BY id DESC LIMIT 25);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 7)
         INSERT INTO changes (change_no, title, description, risk, status, requested_by,
                              scheduled_at, created_at)
         SELECT 'CHG-RESTORE-TEST-' || i, 'テスト変更 / test change', 'after the backup', 'low',
                'planned', (SELECT min(id) FROM users), NULL, '2026-01-31 14:30:25' FROM n;
         COMMIT;",
    )
    .unwrap();
}

fn sha256(path: &Path) -> String {
    let (ok, out) = run_tool("sha256sum", &[path.to_str().unwrap()]);
    assert!(ok, "{out}");
    out.split_whitespace().next().unwrap().to_owned()
}

fn backup_now(app: &TestApp, token: &str) -> Value {
    let (status, accepted) = app.post_backup(token, &json!({"type": "manual"}));
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let id = accepted["backup_id"].as_str().unwrap();
    let done = app.wait_until_terminal(token, id, Duration::from_secs(60));
    assert_eq!(done["status"], "success", "{done}");
    done
}

fn post_restore(app: &TestApp, token: &str, id: &str, body: &Value) -> (StatusCode, Value) {
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/backups/{id}/restore")))
        .bearer_auth(token)
        .json(body)
        .send()
        .expect("post restore");
    (r.status(), r.json().unwrap_or(Value::Null))
}

/// Asks for the restore of `id` and returns the restore once it ended.
fn restore(app: &TestApp, token: &str, id: &str) -> Value {
    let (status, accepted) = post_restore(app, token, id, &json!({ "confirm": id }));
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["backup_id"], id);
    assert_eq!(accepted["status"], "in_progress");
    let restore_id = accepted["restore_id"].as_str().unwrap();
    assert!(restore_id.starts_with("RST-"), "{restore_id}");
    let (limit, every) = (Duration::from_secs(120), Duration::from_millis(50));
    app.eventually("the restore to finish", limit, every, || {
        let (status, body) = app.get_json(token, &format!("/api/v1/restores/{restore_id}"));
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["status"] != "in_progress" {
            Ok(body)
        } else {
            Err(body.to_string())
        }
    })
}

fn audit_actions(app: &TestApp) -> Vec<(String, String)> {
    app.catalog()
        .list_audit(500, 0)
        .unwrap()
        .into_iter()
        .map(|a| (a.action, a.result))
        .collect()
}

fn has(actions: &[(String, String)], action: &str, result: &str) -> bool {
    actions.iter().any(|(a, r)| a == action && r == result)
}

/// `itsm-reader`: another process with the live database open, reading.
struct Reader {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Reader {
    fn start(db: &Path) -> Reader {
        let mut child = Command::new(env!("CARGO_BIN_EXE_itsm-reader"))
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start itsm-reader");
        let (stdin, stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
        let mut reader = Reader {
            child,
            stdin,
            stdout: BufReader::new(stdout),
        };
        reader.line(); // the first read is done
        reader
    }

    fn line(&mut self) -> Value {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("a report");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }

    fn report(&mut self) -> Value {
        writeln!(self.stdin, "report").unwrap();
        self.line()
    }

    fn states(report: &Value) -> Vec<State> {
        serde_json::from_value(report["states"].clone()).unwrap()
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_restore_brings_back_the_backups_rows_while_another_process_keeps_reading_and_its_safety_copy_undoes_it()
 {
    let app = TestApp::spawn();
    let token = app.admin_token();
    let backup = backup_now(&app, &token);
    let backup_id = backup["backup_id"].as_str().unwrap();
    let backed_up = state(&app.db_path);
    change_live_database(&app.db_path);
    let changed = state(&app.db_path);
    assert_ne!(backed_up, changed);
    let mut reader = Reader::start(&app.db_path);
    let reads_before = reader.report()["reads"].as_u64().unwrap();

    let done = restore(&app, &token, backup_id);

    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["phase"], "done");
    assert_eq!(done["error"], Value::Null);
    assert_eq!(done["target"], app.db_path.display().to_string());
    assert_eq!(done["requested_by"]["username"], "admin");
    assert!(
        done["completed_at"].as_str().unwrap().ends_with("+09:00"),
        "{done}"
    );
    assert_eq!(
        state(&app.db_path),
        backed_up,
        "the live database holds the backup's rows"
    );
    assert_eq!(integrity(&app.db_path), "ok");
    let report = reader.report();
    assert_eq!(report["errors"], 0, "the reader hit errors: {report}");
    assert!(
        report["reads"].as_u64().unwrap() > reads_before + 20,
        "the reader kept reading through the restore: {report}"
    );
    let mut both = vec![backed_up, changed];
    both.sort();
    assert_eq!(
        Reader::states(&report),
        both,
        "the same connection saw the changed state, then the restored one, nothing else: {report}"
    );
    assert_eq!(
        report["current"],
        json!(backed_up),
        "the open connection sees the restored rows"
    );

    // The safety copy is an ordinary, listed, successful backup of the changed state…
    let safety_id = done["safety_backup_id"].as_str().unwrap();
    assert!(safety_id.ends_with("-before_restore"), "{safety_id}");
    let safety = app.get_backup(&token, safety_id);
    assert_eq!(safety["status"], "success", "{safety}");
    assert_eq!(safety["backup_type"], "before_restore");
    let safety_file = PathBuf::from(safety["file_path"].as_str().unwrap());
    assert!(safety_file.starts_with(app.backup_root().join("before_restore")));
    assert!(safety_file.is_file());
    let (_, listed) = app.get_json(&token, "/api/v1/backups?type=before_restore");
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["backups"][0]["backup_id"], safety_id);
    let actions = audit_actions(&app);
    for action in [
        "restore.request",
        "restore.verify",
        "restore.safety_backup",
        "restore.apply",
        "restore.check",
    ] {
        let result = if action == "restore.request" {
            "accepted"
        } else {
            "success"
        };
        assert!(
            has(&actions, action, result),
            "no {action} {result} in {actions:?}"
        );
    }
    assert!(has(&actions, "restore.run", "success"));

    // …and restoring it brings the changed state back, the reader still going.
    let undone = restore(&app, &token, safety_id);
    assert_eq!(undone["status"], "success", "{undone}");
    assert_eq!(state(&app.db_path), changed);
    assert_eq!(integrity(&app.db_path), "ok");
    let report = reader.report();
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["current"], json!(changed));
    let leftovers: Vec<_> = std::fs::read_dir(app.backup_root().join(".tmp"))
        .unwrap()
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files remain: {leftovers:?}"
    );
}

#[test]
fn a_corrupted_backup_is_refused_before_the_live_database_is_touched_and_mailed_about() {
    let sink = SmtpSink::start(None);
    let app = TestApp::builder()
        .env("SMTP_HOST", "127.0.0.1")
        .env("SMTP_PORT", &sink.port.to_string())
        .env("SMTP_TLS", "none")
        .env("NEXUS_ALERT_TO", "ops@example.test")
        .spawn();
    let token = app.admin_token();
    let backup = backup_now(&app, &token);
    let backup_id = backup["backup_id"].as_str().unwrap();
    change_live_database(&app.db_path);
    let file = PathBuf::from(backup["file_path"].as_str().unwrap());
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();
    let before = sha256(&app.db_path);

    let done = restore(&app, &token, backup_id);

    assert_eq!(done["status"], "failure", "{done}");
    assert_eq!(done["error"]["code"], "checksum_mismatch", "{done}");
    assert_eq!(done["phase"], "verify");
    assert_eq!(done["safety_backup_id"], Value::Null);
    assert_eq!(
        sha256(&app.db_path),
        before,
        "the live database was touched"
    );
    let (_, listed) = app.get_json(&token, "/api/v1/backups?type=before_restore");
    assert_eq!(listed["total"], 0, "no safety backup for a refused restore");
    let actions = audit_actions(&app);
    assert!(has(&actions, "restore.verify", "failure"), "{actions:?}");
    assert!(has(&actions, "restore.run", "failure"), "{actions:?}");
    let mail = &sink.wait_for(1, Duration::from_secs(20))[0];
    let subject = mail["subject"].as_str().unwrap();
    assert!(
        subject.contains("Restore failed") && subject.contains(backup_id),
        "{mail}"
    );
}

#[test]
fn a_failure_after_the_new_content_was_written_puts_the_safety_copy_back() {
    // Test hook: the post-check fails as if the restored database were bad.
    let app = TestApp::builder()
        .env("NEXUS_TEST_FAIL_RESTORE_AFTER", "apply")
        .spawn();
    let token = app.admin_token();
    let backup = backup_now(&app, &token);
    let backed_up = state(&app.db_path);
    change_live_database(&app.db_path);
    let changed = state(&app.db_path);
    let mut reader = Reader::start(&app.db_path);

    let done = restore(&app, &token, backup["backup_id"].as_str().unwrap());

    assert_eq!(done["status"], "failure", "{done}");
    assert_eq!(done["error"]["code"], "restore_rolled_back", "{done}");
    assert_eq!(done["phase"], "rollback");
    let safety_id = done["safety_backup_id"].as_str().unwrap();
    assert!(
        done["error"]["message"]
            .as_str()
            .unwrap()
            .contains(safety_id),
        "{done}"
    );
    assert_eq!(
        state(&app.db_path),
        changed,
        "the live database is as it was before"
    );
    assert_eq!(integrity(&app.db_path), "ok");
    let report = reader.report();
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["current"], json!(changed));
    for seen in Reader::states(&report) {
        assert!(
            seen == changed || seen == backed_up,
            "the reader saw a mix: {seen:?}"
        );
    }
    let actions = audit_actions(&app);
    assert!(has(&actions, "restore.apply", "success"), "{actions:?}");
    assert!(has(&actions, "restore.check", "failure"), "{actions:?}");
    assert!(has(&actions, "restore.rollback", "success"), "{actions:?}");
}

#[test]
fn a_failure_right_after_the_safety_copy_leaves_the_live_database_byte_identical() {
    let app = TestApp::builder()
        .env("NEXUS_TEST_FAIL_RESTORE_AFTER", "safety_backup")
        .spawn();
    let token = app.admin_token();
    let backup = backup_now(&app, &token);
    change_live_database(&app.db_path);
    let before = sha256(&app.db_path);

    let done = restore(&app, &token, backup["backup_id"].as_str().unwrap());

    assert_eq!(done["status"], "failure", "{done}");
    assert_eq!(done["error"]["code"], "injected_failure", "{done}");
    assert!(
        done["safety_backup_id"].is_string(),
        "the safety copy was taken: {done}"
    );
    assert_eq!(sha256(&app.db_path), before);
}

#[test]
fn a_restore_that_fills_the_databases_disk_after_the_safety_copy_leaves_it_unchanged() {
    // The live database on a small disk of its own. Real cause, no hook: the
    // disk fills up between the safety copy and the write.
    let disk = Tmpfs::new("16m");
    let db = disk.path().join("itsm_nexus.db");
    nexus_shared::demo::generate(&db, 3_000_000).unwrap();
    let app = TestApp::builder()
        .db_size_mb(0)
        .env("NEXUS_DB_PATH", db.to_str().unwrap())
        .spawn();
    let token = app.admin_token();
    let backup = backup_now(&app, &token);
    change_live_database(&db);
    let changed = state(&db);
    let before = sha256(&db);
    // A backup still copying the database holds the restore after its
    // safety copy, before it writes: the disk fills up meanwhile.
    let catalog = app.catalog();
    let copying = catalog
        .create_backup(
            &NewBackup {
                backup_type: BackupType::Manual,
                description: None,
                created_by: CreatedBy {
                    id: None,
                    username: "test".into(),
                },
                started_at: chrono::Utc::now(),
            },
            Settings::default().tz(),
            &app.backup_root(),
        )
        .unwrap()
        .id;
    let hold = Duration::from_secs(600);
    catalog.claim_backup(&copying, "test", hold).unwrap();
    catalog
        .report_progress(&copying, "test", Phase::Snapshot, 10, hold)
        .unwrap();

    let backup_id = backup["backup_id"].as_str().unwrap();
    let (status, accepted) =
        post_restore(&app, &token, backup_id, &json!({ "confirm": backup_id }));
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let restore_id = accepted["restore_id"].as_str().unwrap();
    let path = format!("/api/v1/restores/{restore_id}");
    let every = Duration::from_millis(50);
    app.eventually("the safety backup", Duration::from_secs(60), every, || {
        let (_, r) = app.get_json(&token, &path);
        if r["safety_backup_id"].is_string()
            && app.get_backup(&token, r["safety_backup_id"].as_str().unwrap())["status"]
                == "success"
        {
            return Ok(());
        }
        assert_eq!(r["status"], "in_progress", "{r}");
        Err(r.to_string())
    });
    std::thread::sleep(Duration::from_millis(500));
    let free = nexus_shared::fsutil::available_bytes(disk.path()).unwrap();
    let ballast = disk.path().join("ballast");
    std::fs::write(&ballast, vec![0u8; (free - 256 * 1024) as usize]).unwrap();
    let error = ErrorInfo {
        code: "test".into(),
        message: "released".into(),
        details: None,
    };
    catalog
        .mark_failure(&copying, Some("test"), &error)
        .unwrap();

    let done = app.eventually(
        "the restore to end",
        Duration::from_secs(120),
        every,
        || {
            let (_, r) = app.get_json(&token, &path);
            if r["status"] != "in_progress" {
                Ok(r)
            } else {
                Err(r.to_string())
            }
        },
    );

    assert_eq!(done["status"], "failure", "{done}");
    assert_eq!(done["phase"], "apply", "{done}");
    assert_eq!(done["error"]["code"], "insufficient_disk_space", "{done}");
    std::fs::remove_file(&ballast).unwrap();
    assert_eq!(sha256(&db), before, "the live database was touched");
    assert_eq!(state(&db), changed);
    assert_eq!(integrity(&db), "ok");
    drop(app);
}

#[test]
fn a_backup_asked_for_during_a_restore_waits_for_it() {
    let app = TestApp::spawn();
    let token = app.admin_token();
    let catalog = app.catalog();
    catalog
        .acquire_lock(
            LIVE_DATABASE,
            "RST-held-by-the-test",
            Duration::from_secs(60),
        )
        .unwrap();

    let (_, accepted) = app.post_backup(&token, &json!({"type": "manual"}));
    let id = accepted["backup_id"].as_str().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let waiting = app.get_backup(&token, id);
    assert_eq!(waiting["status"], "in_progress", "{waiting}");
    assert_eq!(
        waiting["phase"], "queued",
        "it must not start its snapshot: {waiting}"
    );
    catalog
        .release_lock(LIVE_DATABASE, "RST-held-by-the-test")
        .unwrap();

    let done = app.wait_until_terminal(&token, id, Duration::from_secs(60));
    assert_eq!(done["status"], "success", "{done}");
}

#[test]
fn restore_requests_are_refused_without_confirmation_role_backup_or_success() {
    let app = TestApp::spawn();
    let admin = app.admin_token();
    let backup = backup_now(&app, &admin);
    let id = backup["backup_id"].as_str().unwrap();
    let refused = |token: &str, id: &str, body: Value| {
        let (status, body) = post_restore(&app, token, id, &body);
        (
            status,
            body["error"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let expect = |got: (StatusCode, String), status: StatusCode, code: &str| {
        assert_eq!(got, (status, code.to_owned()));
    };

    let bad = StatusCode::BAD_REQUEST;
    expect(
        refused(&admin, id, json!({"confirm": "BKP-20200101-000000-manual"})),
        bad,
        "confirmation_mismatch",
    );
    expect(refused(&admin, id, json!({})), bad, "confirmation_mismatch");
    expect(
        refused(&admin, id, json!({"confirm": id, "target": "/tmp/x.db"})),
        bad,
        "invalid_request",
    );
    expect(
        refused(&admin, "not-an-id", json!({"confirm": "not-an-id"})),
        bad,
        "invalid_backup_id",
    );
    let operator = app.token_for_new_user("operator1", Role::Operator);
    expect(
        refused(&operator, id, json!({"confirm": id})),
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let unknown = "BKP-20200101-000000-manual";
    expect(
        refused(&admin, unknown, json!({"confirm": unknown})),
        StatusCode::NOT_FOUND,
        "backup_not_found",
    );

    let catalog = app.catalog();
    let failed = catalog
        .create_backup(
            &NewBackup {
                backup_type: BackupType::Manual,
                description: None,
                created_by: CreatedBy {
                    id: None,
                    username: "admin".into(),
                },
                started_at: chrono::Utc::now(),
            },
            Settings::default().tz(),
            &app.backup_root(),
        )
        .unwrap()
        .id;
    let error = ErrorInfo {
        code: "database_busy".into(),
        message: "test".into(),
        details: None,
    };
    assert!(catalog.mark_failure(&failed, None, &error).unwrap());
    let failed = failed.to_string();
    expect(
        refused(&admin, &failed, json!({"confirm": failed})),
        StatusCode::CONFLICT,
        "backup_not_restorable",
    );

    let english = app
        .client()
        .post(app.url(&format!("/api/v1/backups/{id}/restore")))
        .bearer_auth(&admin)
        .header("Accept-Language", "en")
        .json(&json!({"confirm": "wrong"}))
        .send()
        .unwrap();
    let body: Value = english.json().unwrap();
    assert_eq!(
        body["message"],
        "The confirmation does not match the backup id."
    );
    assert_eq!(body["details"]["backup_id"], id);

    let (status, body) = app.get_json(&admin, "/api/v1/restores/RST-not-a-ulid");
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app.get_json(&admin, "/api/v1/restores/RST-01ARZ3NDEKTSV4RRFFQ69G5FAV");
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("restore_not_found"))
    );
    let (_, list) = app.get_json(&admin, "/api/v1/restores");
    assert_eq!(list["total"], 0, "nothing was restored: {list}");
    let actions = audit_actions(&app);
    assert!(has(&actions, "restore.request", "denied"), "{actions:?}");
    assert!(has(&actions, "restore.request", "failure"), "{actions:?}");
}
