//! A backup requested over HTTP goes through the queue and the worker and
//! ends as a verified `.db.gz` (SPEC §3, §8).

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use nexus_e2e::reqwest::StatusCode;
use nexus_e2e::{TestApp, count_rows, gunzip_to, integrity, run_tool};
use serde_json::json;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_requested_backup_reaches_success_and_its_file_checks_out_with_the_standard_tools() {
    let app = TestApp::spawn();
    let token = app.admin_token();

    let (status, accepted) = app.post_backup(
        &token,
        &json!({"type": "manual", "description": "デプロイ前バックアップ"}),
    );

    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["status"], "in_progress");
    assert_eq!(accepted["backup_type"], "manual");
    assert_eq!(accepted["created_by"]["username"], "admin");
    let id = accepted["backup_id"].as_str().unwrap();
    assert!(id.starts_with("BKP-") && id.ends_with("-manual"), "{id}");
    let started_at = accepted["started_at"].as_str().unwrap();
    assert!(
        started_at.ends_with("+09:00"),
        "times carry the Tokyo offset: {started_at}"
    );

    let done = app.wait_until_terminal(&token, id, Duration::from_secs(60));
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["progress_percent"], 100);
    assert_eq!(done["error"], serde_json::Value::Null);
    assert_eq!(done["description"], "デプロイ前バックアップ");

    // manual/itsm_nexus_manual_YYYYMMDD_HHMMSS.db.gz, named after the id
    let stamp = &id["BKP-".len()..id.len() - "-manual".len()].replace('-', "_");
    let file = app
        .backup_root()
        .join("manual")
        .join(format!("itsm_nexus_manual_{stamp}.db.gz"));
    assert_eq!(done["file_path"], file.display().to_string());
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&app.backup_root()), 0o700);
    assert_eq!(mode(&app.backup_root().join("manual")), 0o700);
    assert_eq!(done["file_size"], std::fs::metadata(&file).unwrap().len());

    let (gzip_ok, gzip_out) = run_tool("gzip", &["-t", file.to_str().unwrap()]);
    assert!(gzip_ok, "gzip -t rejects the backup: {gzip_out}");
    let (_, sha_out) = run_tool("sha256sum", &[file.to_str().unwrap()]);
    let sha = sha_out.split_whitespace().next().unwrap();
    assert_eq!(done["checksum"], format!("sha256:{sha}"));

    let restored = app.dir.path().join("restored.db");
    gunzip_to(&file, &restored);
    assert_eq!(integrity(&restored), "ok");
    assert_eq!(
        done["original_size"],
        std::fs::metadata(&restored).unwrap().len()
    );
    for table in ["incidents", "changes", "assets", "users", "audit_logs"] {
        assert_eq!(
            count_rows(&restored, table),
            count_rows(&app.db_path, table),
            "{table}"
        );
    }

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{}.json", file.display())).unwrap())
            .unwrap();
    assert_eq!(manifest["backup_id"], id);
    assert_eq!(manifest["checksum"], done["checksum"]);
    assert_eq!(manifest["created_by"]["username"], "admin");

    let leftovers: Vec<_> = std::fs::read_dir(app.backup_root().join(".tmp"))
        .unwrap()
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files remain: {leftovers:?}"
    );
}

#[test]
fn progress_is_visible_while_the_backup_runs_and_the_list_shows_it_newest_first() {
    let app = TestApp::builder().db_size_mb(40).spawn();
    let token = app.admin_token();

    let (_, first) = app.post_backup(&token, &json!({"type": "manual"}));
    let first_id = first["backup_id"].as_str().unwrap();
    let seen = app.wait_for_backup(&token, first_id, Duration::from_secs(60), |b| {
        b["status"] != "in_progress" || b["phase"] != "queued"
    });
    let done = app.wait_until_terminal(&token, first_id, Duration::from_secs(60));
    assert_eq!(done["status"], "success");
    assert!(seen["progress_percent"].as_u64().unwrap() <= 100);

    let (_, second) = app.post_backup(&token, &json!({"type": "daily"}));
    let second_id = second["backup_id"].as_str().unwrap();
    assert_ne!(first_id, second_id);
    app.wait_until_terminal(&token, second_id, Duration::from_secs(60));

    let (status, list) = app.get_json(&token, "/api/v1/backups?limit=10");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 2);
    assert_eq!(list["limit"], 10);
    assert_eq!(list["offset"], 0);
    assert_eq!(list["backups"][0]["backup_id"], second_id);
    assert_eq!(list["backups"][1]["backup_id"], first_id);

    let (_, daily) = app.get_json(&token, "/api/v1/backups?type=daily&status=success");
    assert_eq!(daily["total"], 1);
    assert_eq!(daily["backups"][0]["backup_type"], "daily");
    assert!(app.backup_root().join("daily").is_dir());
}

#[test]
fn backups_requested_in_the_same_second_get_distinct_ids_and_files() {
    let app = TestApp::spawn();
    let token = app.admin_token();

    let ids: Vec<String> = (0..3)
        .map(|_| {
            let (status, body) = app.post_backup(&token, &json!({"type": "manual"}));
            assert_eq!(status, StatusCode::ACCEPTED);
            body["backup_id"].as_str().unwrap().to_owned()
        })
        .collect();

    let mut files = std::collections::HashSet::new();
    for id in &ids {
        let done = app.wait_until_terminal(&token, id, Duration::from_secs(60));
        assert_eq!(done["status"], "success", "{done}");
        assert!(files.insert(done["file_path"].as_str().unwrap().to_owned()));
    }
    assert_eq!(files.len(), 3);
}
