//! A backup filesystem that fills up while a backup runs: a real tmpfs,
//! filled by `dd` at each step of the backup (before the snapshot, before
//! the compression, before the manifest). Whatever step runs out of room,
//! the backup fails as `insufficient_disk_space` with true figures, the
//! CLI exits 1, and no temporary file is left behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nexus_e2e::smtp::SmtpSink;
use nexus_e2e::tmpfs::Tmpfs;
use nexus_e2e::{TestApp, binary};
use nexus_shared::catalog::{BackupFilter, BackupRecord};
use nexus_shared::engine::pause;
use serde_json::json;

/// Where a backup can be held while the disk fills up.
const MOMENTS: [&str; 3] = ["snapshot", "compress", "finalize"];

fn wait_for_file(path: &Path) {
    let what = format!("{} (the backup at its pause)", path.display());
    nexus_e2e::eventually(
        &what,
        Duration::from_secs(60),
        Duration::from_millis(20),
        || {
            path.exists()
                .then_some(())
                .ok_or_else(|| "no file".to_owned())
        },
    )
}

/// Every file under `root`, folders left out.
fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

fn newest_backup(app: &TestApp) -> BackupRecord {
    let filter = BackupFilter {
        limit: 1,
        ..BackupFilter::default()
    };
    let (mut records, _) = app.catalog().list_backups(&filter).unwrap();
    records.pop().expect("a backup record")
}

/// The recorded failure says the disk is full, with figures that make
/// sense: what the backup needs (the compressed file's estimate: the
/// pages stream from a pinned snapshot, no copy of the database is
/// written), and less than that available.
fn assert_out_of_space(record: &BackupRecord, database_bytes: u64) {
    let error = record.error.as_ref().expect("a recorded error");
    assert_eq!(error.code, "insufficient_disk_space", "{error:?}");
    let details = error.details.as_ref().expect("the figures");
    let required = details["required_bytes"].as_u64().unwrap();
    let available = details["available_bytes"].as_u64().unwrap();
    assert!(
        required > 0 && required < database_bytes && available < required,
        "{details}"
    );
    for human in ["required_human", "available_human"] {
        let text = details[human].as_str().unwrap();
        assert!(error.message.contains(text), "{text} not in {error:?}");
    }
}

#[test]
fn a_disk_that_fills_during_a_cli_backup_fails_it_as_insufficient_disk_space_at_every_step() {
    let app = TestApp::builder().db_size_mb(40).without_worker().spawn();
    let database_bytes = std::fs::metadata(&app.db_path).unwrap().len();
    let disk = Tmpfs::new("300m");
    let root = disk.path().join("backups");

    for moment in MOMENTS {
        let go = app.dir.path().join(format!("go-{moment}"));
        let child = Command::new(binary("nexus-backup"))
            .env_clear()
            .envs(&app.env)
            .env("NEXUS_BACKUP_ROOT", &root)
            .env(pause::POINT_ENV, moment)
            .env(pause::FILE_ENV, &go)
            .args(["backup", "--in-process"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_file(&PathBuf::from(format!("{}.reached", go.display())));
        let filler = disk.fill_up();
        std::fs::write(&go, "").unwrap();
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );

        assert_eq!(out.status.code(), Some(1), "{moment}:\n{stdout}\n{stderr}");
        assert!(
            stdout.contains("Backup failed: insufficient disk space on the backup filesystem: ")
                && stderr.contains("Error: insufficient_disk_space: "),
            "{moment}:\n{stdout}\n{stderr}"
        );
        assert_out_of_space(&newest_backup(&app), database_bytes);
        let left = files_under(&root);
        assert!(left.is_empty(), "{moment}: left behind {left:?}");
        std::fs::remove_file(filler).unwrap();
    }
}

#[test]
fn a_disk_that_fills_while_a_worker_compresses_gives_the_guides_body_and_a_mail() {
    let sink = SmtpSink::start(None);
    let disk = Tmpfs::new("300m");
    let root = disk.path().join("backups");
    let go = disk.path().with_extension("go");
    let app = TestApp::builder()
        .db_size_mb(40)
        .env("NEXUS_BACKUP_ROOT", root.to_str().unwrap())
        .env(pause::POINT_ENV, "compress")
        .env(pause::FILE_ENV, go.to_str().unwrap())
        .env("SMTP_HOST", "127.0.0.1")
        .env("SMTP_PORT", &sink.port.to_string())
        .env("SMTP_TLS", "none")
        .env("NEXUS_ALERT_TO", "ops@example.test")
        .spawn();
    let database_bytes = std::fs::metadata(&app.db_path).unwrap().len();
    let token = app.admin_token();

    let (status, accepted) = app.post_backup(&token, &json!({"type": "manual"}));
    assert_eq!(status.as_u16(), 202, "{accepted}");
    wait_for_file(&PathBuf::from(format!("{}.reached", go.display())));
    disk.fill_up();
    std::fs::write(&go, "").unwrap();
    let id = accepted["backup_id"].as_str().unwrap();
    let done = app.wait_until_terminal(&token, id, Duration::from_secs(60));

    assert_eq!(done["status"], "failure", "{done}");
    let error = &done["error"];
    assert_eq!(error["code"], "insufficient_disk_space", "{done}");
    let details = &error["details"];
    let (required, available) = (
        details["required_bytes"].as_u64().unwrap(),
        details["available_bytes"].as_u64().unwrap(),
    );
    assert!(
        required > 0 && required < database_bytes && available < required,
        "{done}"
    );
    assert!(
        details["required_human"].is_string() && details["available_human"].is_string(),
        "{done}"
    );
    assert_out_of_space(&newest_backup(&app), database_bytes);
    let mails = sink.wait_for_matching(Duration::from_secs(30), |m| {
        m["subject"].as_str().unwrap().contains(id)
    });
    let body = mails[0]["body"].as_str().unwrap();
    assert!(
        body.contains("insufficient_disk_space")
            && body.contains(details["required_human"].as_str().unwrap())
            && body.contains(details["available_human"].as_str().unwrap()),
        "{body}"
    );
    let left: Vec<_> = files_under(&root)
        .into_iter()
        .filter(|p| !p.ends_with("filler"))
        .collect();
    assert!(left.is_empty(), "left behind {left:?}");
}
