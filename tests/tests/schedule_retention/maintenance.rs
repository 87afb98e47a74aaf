//! Prune and reconciliation over the API, run by the worker.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use nexus_e2e::TestApp;
use nexus_e2e::reqwest::StatusCode;
use nexus_shared::domain::{BackupId, BackupType, Role};
use serde_json::{Value, json};

use crate::{file_of, job_status, only_daily, post, seed_backup, wait_until};

const WAIT: Duration = Duration::from_secs(60);

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|b| b["backup_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_prune_deletes_what_its_dry_run_lists_and_keeps_the_newest_of_each_type() {
    let mut app = only_daily(TestApp::builder().db_size_mb(1).without_worker(), "off").spawn();
    let now = Utc::now();
    let ago = |days| now - TimeDelta::days(days);
    let old_monthly = seed_backup(&app, BackupType::Monthly, ago(400));
    let old_daily = seed_backup(&app, BackupType::Daily, ago(10));
    let older_daily = seed_backup(&app, BackupType::Daily, ago(9));
    let kept: Vec<BackupId> = vec![
        seed_backup(&app, BackupType::Monthly, ago(30)),
        seed_backup(&app, BackupType::Daily, ago(1)),
        seed_backup(&app, BackupType::Weekly, ago(60)), // the only weekly
        seed_backup(&app, BackupType::Manual, ago(400)),
    ];
    app.start_worker_with_args(&["--no-scheduler"]);
    let token = app.admin_token();
    let expired = [&old_monthly, &old_daily, &older_daily].map(|id| id.to_string());

    let (status, preview) = app.get_json(&token, "/api/v1/prune/preview");
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(ids(&preview["would_delete"]), expired);
    assert_eq!(preview["would_delete"][1]["retention"], "7 days");
    assert_eq!(
        preview["retention"],
        json!({"daily_days": 7, "weekly_days": 28, "monthly_months": 12})
    );
    let (status, dry) = post(&app, &token, "/api/v1/prune?dry_run=true");
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(ids(&dry["would_delete"]), expired);
    assert!(
        file_of(&app, &old_daily).exists(),
        "a dry run deletes nothing"
    );

    let operator = app.token_for_new_user("operator-user", Role::Operator);
    let (status, _) = app.get_json(&operator, "/api/v1/prune/preview");
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, accepted) = post(&app, &token, "/api/v1/prune");
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["status"], "in_progress");
    let job_id = accepted["job_id"].as_str().unwrap();
    wait_until("the prune job", WAIT, || job_status(&app, job_id) == "Done");

    let catalog = app.catalog();
    assert_eq!(catalog.backup_summaries().unwrap().len(), kept.len());

    for id in [&old_monthly, &old_daily, &older_daily] {
        assert!(!file_of(&app, id).exists(), "{id}");
    }
    for id in &kept {
        assert!(file_of(&app, id).exists(), "{id}");
        assert_eq!(app.get_backup(&token, &id.to_string())["status"], "success");
    }
    let pruned = catalog
        .list_audit(200, 0)
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "backup.delete" && a.result == "success" && a.actor == "admin")
        .count();
    assert_eq!(pruned, 3);
}

#[test]
fn reconciliation_finds_a_file_dropped_into_daily_and_a_record_whose_file_was_removed() {
    let app = only_daily(TestApp::builder().db_size_mb(1), "off").spawn();
    let token = app.admin_token();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (_, body) = app.post_backup(&token, &json!({ "type": "manual" }));
        let id = body["backup_id"].as_str().unwrap().to_owned();
        assert_eq!(
            app.wait_until_terminal(&token, &id, WAIT)["status"],
            "success"
        );
        ids.push(BackupId::parse(&id).unwrap());
    }
    let (status, before) = app.get_json(&token, "/api/v1/reconcile");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(before["checked_at"], Value::Null);

    std::fs::remove_file(file_of(&app, &ids[0])).unwrap();
    let dropped = app
        .backup_root()
        .join("daily/itsm_nexus_daily_20260101_020000.db.gz");
    std::fs::create_dir_all(dropped.parent().unwrap()).unwrap();
    std::fs::write(&dropped, b"copied here by hand").unwrap();

    let viewer = app.token_for_new_user("viewer-user", Role::Viewer);
    assert_eq!(
        post(&app, &viewer, "/api/v1/reconcile").0,
        StatusCode::FORBIDDEN
    );
    let (status, accepted) = post(&app, &token, "/api/v1/reconcile");
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let mut report = Value::Null;
    wait_until("the reconcile report", WAIT, || {
        report = app.get_json(&viewer, "/api/v1/reconcile").1;
        !report["checked_at"].is_null()
    });

    assert_eq!(
        report["orphan_files"],
        json!([{
            "file_path": dropped.display().to_string(),
            "backup_id": "BKP-20260101-020000-daily",
            "file_size": 19,
            "has_manifest": false,
        }])
    );
    assert_eq!(
        report["missing_files"],
        json!([{
            "backup_id": ids[0].to_string(),
            "file_path": file_of(&app, &ids[0]).display().to_string(),
        }])
    );
    assert!(report["checked_at"].as_str().unwrap().ends_with("+09:00"));
}
