//! `DELETE /api/v1/backups/{id}` with the §6.1 rules.

use std::time::Duration;

use nexus_e2e::TestApp;
use nexus_e2e::reqwest::StatusCode;
use nexus_shared::domain::{BackupId, Role};
use nexus_shared::engine::manifest::manifest_path;
use serde_json::{Value, json};

use crate::{delete, file_of, only_daily};

const WAIT: Duration = Duration::from_secs(60);

fn backup(app: &TestApp, token: &str, backup_type: &str) -> BackupId {
    let (status, body) = app.post_backup(token, &json!({ "type": backup_type }));
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    BackupId::parse(body["backup_id"].as_str().unwrap()).unwrap()
}

fn finished(app: &TestApp, token: &str, backup_type: &str) -> BackupId {
    let id = backup(app, token, backup_type);
    let done = app.wait_until_terminal(token, &id.to_string(), WAIT);
    assert_eq!(done["status"], "success", "{done}");
    id
}

fn assert_refused(answer: (StatusCode, Value), code: &str) {
    let (status, body) = answer;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[test]
fn deleting_the_newest_daily_backup_is_refused_and_an_older_one_goes_even_with_its_file_gone() {
    let mut app = only_daily(TestApp::builder().db_size_mb(1).without_worker(), "off").spawn();
    let token = app.admin_token();

    // A backup no worker has run yet is in progress.
    let manual = backup(&app, &token, "manual");
    assert_refused(
        delete(&app, &token, &manual.to_string()),
        "backup_in_progress",
    );

    app.start_worker_with_args(&["--no-scheduler"]);
    app.wait_until_terminal(&token, &manual.to_string(), WAIT);
    assert_refused(
        delete(&app, &token, &manual.to_string()),
        "last_backup_protected",
    );

    let older = finished(&app, &token, "daily");
    let newest = finished(&app, &token, "daily");
    let (status, body) = delete(&app, &token, &newest.to_string());
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "latest_backup_protected");
    assert_eq!(body["details"]["backup_type"], "daily");

    std::fs::remove_file(file_of(&app, &older)).unwrap();
    let (status, body) = delete(&app, &token, &older.to_string());
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({ "backup_id": older.to_string(), "deleted": true })
    );
    let (status, _) = app.get_json(&token, &format!("/api/v1/backups/{older}"));
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!manifest_path(&file_of(&app, &older)).exists());

    // With a daily backup left, the manual one may go: file, manifest, record.
    let (status, _) = delete(&app, &token, &manual.to_string());
    assert_eq!(status, StatusCode::OK);
    assert!(!file_of(&app, &manual).exists());
    assert!(!manifest_path(&file_of(&app, &manual)).exists());
    assert!(file_of(&app, &newest).exists());

    let audit = app.catalog().list_audit(200, 0).unwrap();
    let deletions: Vec<_> = audit
        .iter()
        .filter(|a| a.action == "backup.delete" && a.result == "success")
        .map(|a| a.target.clone().unwrap())
        .collect();
    assert_eq!(deletions, [manual.to_string(), older.to_string()]);
    assert!(audit.iter().any(|a| a.action == "backup.delete"
        && a.result == "failure"
        && a.target.as_deref() == Some(&newest.to_string())));
}

#[test]
fn only_admins_delete_and_bad_or_unknown_ids_are_400_or_404() {
    let app = only_daily(TestApp::builder().db_size_mb(1), "off").spawn();
    let token = app.admin_token();
    let id = finished(&app, &token, "manual");
    finished(&app, &token, "manual");

    for role in [Role::Operator, Role::Viewer] {
        let other = app.token_for_new_user(&format!("{role}-user"), role);
        let (status, body) = delete(&app, &other, &id.to_string());
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"], "forbidden");
    }
    let (status, body) = delete(&app, &token, "BKP-2026-not-an-id");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_backup_id");
    let (status, body) = delete(&app, &token, "BKP-20200101-000000-manual");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "backup_not_found");

    assert!(file_of(&app, &id).exists());
}
