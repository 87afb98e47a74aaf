//! A backup of the live database while another process keeps committing to
//! it: the backup succeeds, it is one consistent state, and the writer never
//! waits or fails (SPEC §3.2).

use std::process::Command;
use std::time::Duration;

use nexus_e2e::{TestApp, count_rows, gunzip_to, integrity};
use serde_json::{Value, json};

#[test]
fn a_backup_taken_while_another_process_commits_succeeds_and_the_writer_sees_no_lock_error() {
    let app = TestApp::builder().db_size_mb(60).spawn();
    let token = app.admin_token();
    let before = count_rows(&app.db_path, "incidents");
    // busy_timeout 0: any moment the backup made the writer wait would be
    // an error. It writes long enough for the three backups to run inside.
    let writer = Command::new(env!("CARGO_BIN_EXE_itsm-writer"))
        .arg(&app.db_path)
        .arg("20")
        .arg("0")
        .output_async();
    std::thread::sleep(Duration::from_millis(500));

    let mut ids = Vec::new();
    for _ in 0..3 {
        let (_, accepted) = app.post_backup(&token, &json!({"type": "manual"}));
        let id = accepted["backup_id"].as_str().unwrap().to_owned();
        let done = app.wait_until_terminal(&token, &id, Duration::from_secs(60));
        assert_eq!(done["status"], "success", "{done}");
        ids.push(done);
    }
    let report: Value = serde_json::from_slice(&writer.wait().stdout).unwrap();

    assert_eq!(report["errors"], 0, "the writer hit errors: {report}");
    assert!(report["commits"].as_u64().unwrap() > 0, "{report}");
    // The backups really ran while the writer committed: it wrote before
    // the first one started and after the last one started (the catalog
    // keeps the start to the microsecond; the API shows it to the second).
    let commit = |key: &str| {
        chrono::DateTime::parse_from_rfc3339(report[key].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let started = |done: &Value| {
        let id =
            nexus_shared::domain::BackupId::parse(done["backup_id"].as_str().unwrap()).unwrap();
        app.catalog().get_backup(&id).unwrap().started_at
    };
    assert!(
        commit("first_commit_at") < started(&ids[0]),
        "the writer started after the first backup: {report} {}",
        ids[0]
    );
    assert!(
        commit("last_commit_at") > started(&ids[2]),
        "the writer stopped before the last backup: {report} {}",
        ids[2]
    );
    let mut last = before;
    for done in ids {
        let copy = app.dir.path().join("copy.db");
        let _ = std::fs::remove_file(&copy);
        gunzip_to(
            std::path::Path::new(done["file_path"].as_str().unwrap()),
            &copy,
        );
        assert_eq!(integrity(&copy), "ok");
        // Each incident commits with its audit row: a consistent snapshot
        // never has one without the other.
        let incidents = count_rows(&copy, "incidents");
        let conn = rusqlite::Connection::open(&copy).unwrap();
        let orphans: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM incidents i WHERE i.id > ?1 AND NOT EXISTS
                 (SELECT 1 FROM audit_logs a WHERE a.entity = 'incident' AND a.entity_id = i.id)",
                [before],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(orphans, 0, "half a transaction in the snapshot");
        assert!(incidents >= last, "later backups see later states");
        last = incidents;
    }
    assert!(
        last > before,
        "no backup saw a row the writer added: {before} rows at the start, {last} in the last backup"
    );
    assert!(count_rows(&app.db_path, "incidents") >= last);
}

/// A child process whose output is collected when it ends.
trait OutputAsync {
    fn output_async(&mut self) -> Pending;
}

struct Pending(std::process::Child);

impl OutputAsync for Command {
    fn output_async(&mut self) -> Pending {
        Pending(
            self.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::inherit())
                .spawn()
                .expect("start itsm-writer"),
        )
    }
}

impl Pending {
    fn wait(self) -> std::process::Output {
        self.0.wait_with_output().expect("itsm-writer output")
    }
}
