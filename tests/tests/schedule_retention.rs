//! Schedules, retention, deletion and reconciliation end to end (SPEC §2,
//! §5): the scheduler in the real worker with second-level cron
//! expressions, deletion and prune over the real API.

mod schedule_retention {
    pub mod deletion;
    pub mod maintenance;
    pub mod scheduler;
}

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use nexus_e2e::reqwest::StatusCode;
use nexus_e2e::{TestApp, TestAppBuilder};
use nexus_shared::catalog::{Completed, NewBackup};
use nexus_shared::domain::CreatedBy;
use nexus_shared::domain::{BackupId, BackupType};
use nexus_shared::engine::manifest::manifest_path;
use serde_json::Value;

/// Every schedule but the daily backup turned off; the daily one on `cron`.
pub fn only_daily(builder: TestAppBuilder, cron: &str) -> TestAppBuilder {
    [
        "NEXUS_SCHEDULE_WEEKLY",
        "NEXUS_SCHEDULE_MONTHLY",
        "NEXUS_SCHEDULE_VERIFY_ALL",
        "NEXUS_SCHEDULE_PRUNE_DAILY",
        "NEXUS_SCHEDULE_PRUNE_WEEKLY",
        "NEXUS_SCHEDULE_PRUNE_MONTHLY",
        "NEXUS_SCHEDULE_RECONCILE",
        "NEXUS_SCHEDULE_DISK_CHECK",
    ]
    .into_iter()
    .fold(builder, |b, name| b.env(name, "off"))
    .env("NEXUS_SCHEDULE_DAILY", cron)
}

/// Polls `done` every 20 ms until it holds, or fails after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    nexus_e2e::eventually(what, timeout, Duration::from_millis(20), || {
        done().then_some(()).ok_or_else(|| "not yet".to_owned())
    })
}

/// A scheduled backup record.
#[derive(Debug, Clone)]
pub struct Scheduled {
    pub slot: String,
    pub backup_id: String,
    pub status: String,
}

impl Scheduled {
    /// The slot's time, from its key `daily@<RFC 3339>`.
    pub fn time(&self) -> DateTime<Utc> {
        let (_, at) = self.slot.split_once('@').expect("a slot key");
        DateTime::parse_from_rfc3339(at).unwrap().to_utc()
    }
}

fn sqlite(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn
}

/// The scheduled backups in the catalog, by slot.
pub fn scheduled(app: &TestApp) -> Vec<Scheduled> {
    let conn = sqlite(&app.data_dir().join("catalog.db"));
    let mut stmt = conn
        .prepare(
            "SELECT schedule_slot, backup_id, status FROM backups
             WHERE schedule_slot IS NOT NULL ORDER BY schedule_slot",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok(Scheduled {
            slot: r.get(0)?,
            backup_id: r.get(1)?,
            status: r.get(2)?,
        })
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Queue jobs whose idempotency key starts with `prefix`.
pub fn jobs_keyed(app: &TestApp, prefix: &str) -> i64 {
    let conn = sqlite(&app.data_dir().join("queue.db"));
    conn.query_row(
        "SELECT COUNT(*) FROM Jobs WHERE idempotency_key LIKE ?1 || '%'",
        [prefix],
        |r| r.get(0),
    )
    .unwrap()
}

/// The apalis status of a queue job: Pending, Running, Done…
pub fn job_status(app: &TestApp, job_id: &str) -> String {
    let conn = sqlite(&app.data_dir().join("queue.db"));
    conn.query_row("SELECT status FROM Jobs WHERE id = ?1", [job_id], |r| {
        r.get(0)
    })
    .unwrap()
}

/// Finished backup files (not hidden temporaries) in a type folder.
pub fn backup_files(app: &TestApp, folder: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(app.backup_root().join(folder))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".db.gz") && !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Records a successful backup of `backup_type` started at `started_at`,
/// with a small file and manifest, straight in the catalog: how backups
/// taken days ago look. Seed before the worker starts.
pub fn seed_backup(app: &TestApp, backup_type: BackupType, started_at: DateTime<Utc>) -> BackupId {
    let catalog = app.catalog();
    let tz = nexus_shared::settings::Settings::default().tz();
    let new = NewBackup {
        backup_type,
        description: None,
        created_by: CreatedBy {
            id: None,
            username: "scheduler".into(),
        },
        started_at,
    };
    let id = catalog
        .create_backup(&new, tz, &app.backup_root())
        .unwrap()
        .id;
    catalog
        .claim_backup(&id, "seed", Duration::from_secs(60))
        .unwrap();
    let done = Completed {
        file_size: 4,
        original_size: 4,
        checksum: nexus_shared::domain::Checksum::from_digest([0x5e; 32]),
        raw_checksum: nexus_shared::domain::Checksum::from_digest([0x5e; 32]),
    };
    assert!(catalog.mark_success(&id, "seed", &done).unwrap());
    let file = app.backup_root().join(id.relative_path());
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"seed").unwrap();
    std::fs::write(manifest_path(&file), b"{}").unwrap();
    id
}

pub fn file_of(app: &TestApp, id: &BackupId) -> PathBuf {
    app.backup_root().join(id.relative_path())
}

pub fn delete(app: &TestApp, token: &str, id: &str) -> (StatusCode, Value) {
    let r = app
        .client()
        .delete(app.url(&format!("/api/v1/backups/{id}")))
        .bearer_auth(token)
        .send()
        .expect("delete");
    (r.status(), r.json().unwrap_or(Value::Null))
}

pub fn post(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let r = app
        .client()
        .post(app.url(path))
        .bearer_auth(token)
        .send()
        .expect("post");
    (r.status(), r.json().unwrap_or(Value::Null))
}
