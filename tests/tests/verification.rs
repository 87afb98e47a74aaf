//! Integrity verification over HTTP (SPEC §4, §8): the worker runs the five
//! checks, records each in the backup's history, never touches the file,
//! and verify-all goes through every backup past a broken one.

use std::path::PathBuf;
use std::time::Duration;

use nexus_e2e::TestApp;
use nexus_e2e::reqwest::StatusCode;
use nexus_shared::domain::Role;
use serde_json::{Value, json};

const CHECK_NAMES: [&str; 5] = [
    "file_exists",
    "file_size",
    "checksum",
    "decompress",
    "sqlite_integrity",
];

fn post(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let r = app
        .client()
        .post(app.url(path))
        .bearer_auth(token)
        .send()
        .expect("post");
    (r.status(), r.json().unwrap_or(Value::Null))
}

fn verify(app: &TestApp, token: &str, id: &str) -> (StatusCode, Value) {
    post(app, token, &format!("/api/v1/backups/{id}/verify"))
}

fn history(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let (status, body) = app.get_json(token, &format!("/api/v1/backups/{id}/verifications"));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["backup_id"], id);
    body["verifications"].as_array().unwrap().clone()
}

/// Polls the backup's history until `done` holds for it.
fn wait_for_history(
    app: &TestApp,
    token: &str,
    id: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let what = format!("the verifications of {id} to get there");
    app.eventually(
        &what,
        Duration::from_secs(60),
        Duration::from_millis(50),
        || {
            let entries = history(app, token, id);
            if done(&entries) {
                Ok(entries)
            } else {
                Err(format!("{entries:#?}"))
            }
        },
    )
}

/// Polls until the verification `check_id` has finished; returns it.
fn wait_for_check(app: &TestApp, token: &str, id: &str, check_id: &str) -> Value {
    let entries = wait_for_history(app, token, id, |entries| {
        entries
            .iter()
            .any(|v| v["check_id"] == check_id && v["status"] != "in_progress")
    });
    entries
        .into_iter()
        .find(|v| v["check_id"] == check_id)
        .unwrap()
}

fn check<'a>(verification: &'a Value, name: &str) -> &'a Value {
    verification["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {verification:#}"))
}

fn backup(app: &TestApp, token: &str) -> (String, PathBuf) {
    let (status, body) = app.post_backup(token, &json!({"type": "manual"}));
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["backup_id"].as_str().unwrap().to_owned();
    let done = app.wait_until_terminal(token, &id, Duration::from_secs(60));
    assert_eq!(done["status"], "success", "{done}");
    (id, PathBuf::from(done["file_path"].as_str().unwrap()))
}

fn flip_a_byte(file: &std::path::Path) -> Vec<u8> {
    let mut bytes = std::fs::read(file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(file, &bytes).unwrap();
    bytes
}

#[track_caller]
fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(body["details"].is_object(), "{body}");
}

#[test]
fn a_verification_passes_all_five_checks_and_shows_as_the_backups_last_verification() {
    // Over 4 MB: the backup is several gzip members, as real ones are.
    let app = TestApp::builder().db_size_mb(12).spawn();
    let token = app.admin_token();
    let (id, _) = backup(&app, &token);

    let (status, accepted) = verify(&app, &token, &id);

    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["backup_id"], id);
    assert_eq!(accepted["status"], "in_progress");
    let check_id = accepted["check_id"].as_str().unwrap();
    assert!(check_id.starts_with("CHK-"), "{check_id}");

    let done = wait_for_check(&app, &token, &id, check_id);
    assert_eq!(done["status"], "pass", "{done:#}");
    let names: Vec<&str> = done["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, CHECK_NAMES);
    for name in CHECK_NAMES {
        assert_eq!(check(&done, name)["status"], "pass", "{done:#}");
        assert!(check(&done, name)["detail"].as_str().unwrap().len() > 2);
    }
    assert!(done["checked_at"].as_str().unwrap().ends_with("+09:00"));
    assert!(done["duration_ms"].is_u64(), "{done}");
    assert_eq!(done["requested_by"]["username"], "admin");

    let detail = app.get_backup(&token, &id);
    assert_eq!(detail["last_verification"]["check_id"], check_id);
    assert_eq!(detail["last_verification"]["status"], "pass");
    assert_eq!(detail["last_verification"]["checks"], done["checks"]);
    let (_, list) = app.get_json(&token, "/api/v1/backups");
    assert_eq!(
        list["backups"][0]["last_verification"]["check_id"],
        check_id
    );
    let leftovers: Vec<_> = std::fs::read_dir(app.backup_root().join(".tmp"))
        .unwrap()
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_flipped_byte_fails_the_checksum_and_the_file_is_left_exactly_as_it_was() {
    let app = TestApp::spawn();
    let token = app.admin_token();
    let (id, file) = backup(&app, &token);
    let (_, first) = verify(&app, &token, &id);
    wait_for_check(&app, &token, &id, first["check_id"].as_str().unwrap());
    let damaged = flip_a_byte(&file);

    let (status, accepted) = verify(&app, &token, &id);

    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let check_id = accepted["check_id"].as_str().unwrap();
    let done = wait_for_check(&app, &token, &id, check_id);
    assert_eq!(done["status"], "fail", "{done:#}");
    assert_eq!(check(&done, "file_exists")["status"], "pass");
    assert_eq!(check(&done, "file_size")["status"], "pass");
    assert_eq!(check(&done, "checksum")["status"], "fail");
    let recorded = app.get_backup(&token, &id)["checksum"].clone();
    let detail = check(&done, "checksum")["detail"].as_str().unwrap();
    assert!(detail.contains(recorded.as_str().unwrap()), "{detail}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        damaged,
        "a failed verification never changes the backup file"
    );

    let entries = history(&app, &token, &id);
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["check_id"], check_id, "newest first");
    assert_eq!(
        app.get_backup(&token, &id)["last_verification"]["status"],
        "fail"
    );
    let audit = app.catalog().list_audit(100, 0).unwrap();
    assert!(
        audit.iter().any(|e| e.action == "backup.verify"
            && e.result == "failure"
            && e.target.as_deref() == Some(id.as_str())
            && e.detail.as_deref().is_some_and(|d| d.contains("checksum"))),
        "{audit:#?}"
    );
}

#[test]
fn unknown_and_malformed_backup_ids_are_404_and_400() {
    let app = TestApp::builder().without_worker().spawn();
    let token = app.admin_token();
    let unknown = "BKP-20200101-000000-manual";

    let (status, body) = verify(&app, &token, unknown);
    assert_error(status, &body, StatusCode::NOT_FOUND, "backup_not_found");
    let (status, body) = app.get_json(&token, &format!("/api/v1/backups/{unknown}/verifications"));
    assert_error(status, &body, StatusCode::NOT_FOUND, "backup_not_found");
    for bad in [
        "BKP-2020-manual",
        "..%2F..%2Fetc%2Fpasswd",
        "bkp-20200101-000000-manual",
    ] {
        let (status, body) = verify(&app, &token, bad);
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_backup_id");
        let (status, body) = app.get_json(&token, &format!("/api/v1/backups/{bad}/verifications"));
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_backup_id");
    }
}

#[test]
fn a_backup_that_has_not_succeeded_cannot_be_verified() {
    let app = TestApp::builder().without_worker().spawn();
    let token = app.admin_token();
    let (_, body) = app.post_backup(&token, &json!({"type": "manual"}));
    let id = body["backup_id"].as_str().unwrap();

    let (status, body) = verify(&app, &token, id);

    assert_error(status, &body, StatusCode::CONFLICT, "backup_not_verifiable");
    assert_eq!(body["details"]["status"], "in_progress");
    assert!(history(&app, &token, id).is_empty());
}

#[test]
fn a_viewer_can_read_the_history_but_cannot_ask_for_verification() {
    let app = TestApp::spawn();
    let admin = app.admin_token();
    let viewer = app.token_for_new_user("viewer1", Role::Viewer);
    let operator = app.token_for_new_user("operator1", Role::Operator);
    let (id, _) = backup(&app, &admin);

    let (status, body) = verify(&app, &viewer, &id);
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = post(&app, &viewer, "/api/v1/backups/verify-all");
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    assert!(history(&app, &viewer, &id).is_empty());

    let (status, accepted) = verify(&app, &operator, &id);
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let done = wait_for_check(&app, &viewer, &id, accepted["check_id"].as_str().unwrap());
    assert_eq!(done["requested_by"]["username"], "operator1");
    let denied = app.catalog().list_audit(100, 0).unwrap();
    assert!(
        denied
            .iter()
            .any(|e| e.action == "backup.verify" && e.result == "denied" && e.actor == "viewer1"),
        "{denied:#?}"
    );
}

#[test]
fn asking_again_while_a_verification_is_pending_returns_it_and_runs_it_once() {
    let mut app = TestApp::spawn();
    let token = app.admin_token();
    let (id, _) = backup(&app, &token);
    app.stop_worker();

    let (first_status, first) = verify(&app, &token, &id);
    let (second_status, second) = verify(&app, &token, &id);

    assert_eq!(first_status, StatusCode::ACCEPTED, "{first}");
    assert_eq!(second_status, StatusCode::ACCEPTED, "{second}");
    assert_eq!(second["check_id"], first["check_id"]);
    assert_eq!(second["status"], "in_progress");
    app.start_worker();
    let done = wait_for_check(&app, &token, &id, first["check_id"].as_str().unwrap());
    assert_eq!(done["status"], "pass", "{done:#}");
    assert_eq!(history(&app, &token, &id).len(), 1, "it ran once");
}

#[test]
fn verify_all_verifies_every_backup_and_keeps_going_past_a_broken_one() {
    let app = TestApp::spawn();
    let token = app.admin_token();
    let backups: Vec<(String, PathBuf)> = (0..3).map(|_| backup(&app, &token)).collect();
    let broken = &backups[1];
    std::fs::remove_file(&broken.1).unwrap();

    let (status, accepted) = post(&app, &token, "/api/v1/backups/verify-all");

    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["status"], "in_progress");
    assert!(accepted["job_id"].as_str().is_some_and(|j| !j.is_empty()));
    for (id, _) in &backups {
        let entries = wait_for_history(&app, &token, id, |entries| {
            entries
                .first()
                .is_some_and(|v| v["status"] != "in_progress")
        });
        assert_eq!(entries.len(), 1, "{entries:#?}");
        let done = &entries[0];
        assert_eq!(done["requested_by"]["username"], "admin");
        if id == &broken.0 {
            assert_eq!(done["status"], "fail", "{done:#}");
            assert_eq!(check(done, "file_exists")["status"], "fail");
            assert_eq!(check(done, "checksum")["status"], "skipped");
        } else {
            assert_eq!(done["status"], "pass", "{done:#}");
        }
    }
    let leftovers: Vec<_> = std::fs::read_dir(app.backup_root().join(".tmp"))
        .unwrap()
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
