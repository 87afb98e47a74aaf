//! The shared operations against a real catalog and backup folder.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Asia::Tokyo;

use super::deletion::{DeleteError, delete_backup};
use super::reconcile::{reconcile, reindex};
use crate::catalog::{Catalog, Completed, NewBackup, SlotBackup};
use crate::domain::{BackupId, BackupStatus, BackupType, Checksum, CreatedBy};
use crate::engine::manifest::{Manifest, manifest_path};
use crate::retention::Refusal;

struct Fixture {
    dir: tempfile::TempDir,
    catalog: Catalog,
    root: std::path::PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(&dir.path().join("catalog.db")).unwrap();
    let root = dir.path().join("backups");
    Fixture { dir, catalog, root }
}

fn new_backup(backup_type: BackupType, started_at: DateTime<Utc>) -> NewBackup {
    NewBackup {
        backup_type,
        description: None,
        created_by: CreatedBy {
            id: None,
            username: "scheduler".into(),
        },
        started_at,
    }
}

/// A successful backup with its file and manifest.
fn backup(f: &Fixture, backup_type: BackupType, started_at: DateTime<Utc>) -> BackupId {
    let new = new_backup(backup_type, started_at);
    let id = f.catalog.create_backup(&new, Tokyo, &f.root).unwrap().id;
    f.catalog
        .claim_backup(&id, "test", Duration::from_secs(60))
        .unwrap();
    let file = f.root.join(id.relative_path());
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"gzip bytes").unwrap();
    let manifest = Manifest {
        format: 1,
        backup_id: id.clone(),
        backup_type,
        file_name: id.file_name(),
        file_size: 10,
        original_size: 40,
        checksum: Checksum::from_digest([0xaa; 32]),
        raw_checksum: Checksum::from_digest([0xbb; 32]),
        created_by: (&new.created_by).into(),
        description: Some("from the manifest".into()),
        started_at,
        completed_at: started_at + TimeDelta::seconds(5),
        tool_version: "test".into(),
        compression_level: Some(6),
    };
    std::fs::write(manifest_path(&file), serde_json::to_vec(&manifest).unwrap()).unwrap();
    let done = Completed {
        file_size: 10,
        original_size: 40,
        checksum: Checksum::from_digest([0xaa; 32]),
        raw_checksum: Checksum::from_digest([0xbb; 32]),
    };
    assert!(f.catalog.mark_success(&id, "test", &done).unwrap());
    id
}

fn exists(root: &Path, id: &BackupId) -> bool {
    root.join(id.relative_path()).exists()
}

#[test]
fn schedulers_racing_for_one_slot_record_one_backup() {
    let f = fixture();
    let slot = "daily@2026-01-31T02:00:00+09:00";
    let outcomes: Vec<SlotBackup> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                s.spawn(|| {
                    let new = new_backup(BackupType::Daily, Utc::now());
                    f.catalog
                        .create_scheduled_backup(&new, slot, Tokyo, &f.root)
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let created = outcomes
        .iter()
        .filter(|o| matches!(o, SlotBackup::Created(_)))
        .count();
    assert_eq!(created, 1);
    let ids: std::collections::HashSet<_> =
        outcomes.iter().map(|o| o.record().id.clone()).collect();
    assert_eq!(ids.len(), 1, "every scheduler sees the same record");
    assert_eq!(f.catalog.backup_summaries().unwrap().len(), 1);
}

#[test]
fn two_deletions_at_once_never_take_the_last_backup() {
    let f = fixture();
    let now = Utc::now();
    let a = backup(&f, BackupType::Manual, now - TimeDelta::hours(2));
    let b = backup(&f, BackupType::Manual, now - TimeDelta::hours(1));

    let results: Vec<_> = std::thread::scope(|s| {
        [&a, &b]
            .map(|id| s.spawn(|| delete_backup(&f.catalog, &f.root, id)))
            .map(|h| h.join().unwrap())
            .into_iter()
            .collect()
    });

    let deleted = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(deleted, 1, "{results:?}");
    assert!(results.iter().any(|r| matches!(
        r,
        Err(DeleteError::Refused {
            refusal: Refusal::LastBackup,
            ..
        })
    )));
    assert_eq!(f.catalog.backup_summaries().unwrap().len(), 1);
}

#[test]
fn a_deletion_cut_short_after_its_mark_is_finished_by_reconciliation() {
    let f = fixture();
    let now = Utc::now();
    let old = backup(&f, BackupType::Daily, now - TimeDelta::days(9));
    let newest = backup(&f, BackupType::Daily, now - TimeDelta::days(1));
    // The process died right after marking: files and record still there.
    f.catalog.begin_deletion(&old).unwrap().unwrap();

    let early = reconcile(&f.catalog, &f.root, now).unwrap();
    assert!(
        early.finished_deletions.is_empty(),
        "a fresh mark may be a live deletion"
    );
    assert!(
        early.orphan_files.is_empty(),
        "a file being deleted is no orphan"
    );

    let later = reconcile(&f.catalog, &f.root, now + TimeDelta::minutes(2)).unwrap();
    assert_eq!(later.finished_deletions, std::slice::from_ref(&old));
    assert!(!exists(&f.root, &old));
    assert!(!manifest_path(&f.root.join(old.relative_path())).exists());
    let left: Vec<BackupId> = f
        .catalog
        .backup_summaries()
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, [newest]);
    assert_eq!(f.catalog.last_reconcile_report().unwrap(), Some(later));
}

#[test]
fn reindex_rebuilds_records_from_manifests_and_leaves_doubtful_files_alone() {
    let f = fixture();
    let now = Utc::now();
    let manual = backup(&f, BackupType::Manual, now - TimeDelta::days(3));
    let weekly = backup(&f, BackupType::Weekly, now - TimeDelta::days(2));
    let resized = backup(&f, BackupType::Monthly, now - TimeDelta::days(1));
    std::fs::write(f.root.join(resized.relative_path()), b"a different size").unwrap();
    let stray = f.root.join("daily/itsm_nexus_daily_20260101_020000.db.gz");
    std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
    std::fs::write(&stray, b"?").unwrap();
    // A catalog rebuilt from scratch over the same backup folder.
    let fresh = Catalog::open(&f.dir.path().join("fresh.db")).unwrap();

    let report = reindex(&fresh, &f.root).unwrap();

    assert_eq!(report.restored, [manual.clone(), weekly.clone()]);
    let skipped: Vec<_> = report.skipped.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(
        skipped,
        [
            Path::new("daily/itsm_nexus_daily_20260101_020000.db.gz").to_path_buf(),
            resized.relative_path(),
        ]
    );
    let record = fresh.get_backup(&weekly).unwrap();
    assert_eq!(record.status, BackupStatus::Success);
    assert_eq!(record.checksum, Some(Checksum::from_digest([0xaa; 32])));
    assert_eq!(record.description.as_deref(), Some("from the manifest"));
    assert_eq!(record.file_size, Some(10));
    assert_eq!(record.created_by.username, "scheduler");
    assert!(
        reindex(&fresh, &f.root).unwrap().restored.is_empty(),
        "idempotent"
    );
}
