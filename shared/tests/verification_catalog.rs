//! The verification ledger in the catalog: one running verification per
//! backup, abandoned ones closed, the last result found per backup.

use std::time::Duration;

use chrono::Utc;
use nexus_shared::catalog::{Begun, Catalog, Claim, Completed, NewBackup, VerificationStatus};
use nexus_shared::domain::{BackupId, BackupStatus, BackupType, Checksum, CreatedBy};
use nexus_shared::engine::verify::VerifyReport;
use tempfile::TempDir;

fn operator() -> CreatedBy {
    CreatedBy {
        id: None,
        username: "operator".into(),
    }
}

fn catalog() -> (TempDir, Catalog) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(&dir.path().join("catalog.db")).unwrap();
    (dir, catalog)
}

fn backup(catalog: &Catalog, dir: &TempDir, finished: bool) -> BackupId {
    let new = NewBackup {
        backup_type: BackupType::Manual,
        description: None,
        created_by: operator(),
        started_at: Utc::now(),
    };
    let record = catalog
        .create_backup(&new, chrono_tz::Asia::Tokyo, dir.path())
        .unwrap();
    if finished {
        catalog
            .claim_backup(&record.id, "test", Duration::from_secs(60))
            .unwrap();
        let done = Completed {
            file_size: 1,
            original_size: 1,
            checksum: Checksum::from_digest([0u8; 32]),
            raw_checksum: Checksum::from_digest([0u8; 32]),
        };
        assert!(catalog.mark_success(&record.id, "test", &done).unwrap());
    }
    record.id
}

fn started(begun: Begun) -> nexus_shared::catalog::Verification {
    match begun {
        Begun::Started(v) => v,
        other => panic!("expected a new verification, got {other:?}"),
    }
}

#[test]
fn asking_again_while_a_verification_runs_returns_the_running_one() {
    let (dir, catalog) = catalog();
    let id = backup(&catalog, &dir, true);

    let first = started(catalog.begin_verification(&id, &operator(), None).unwrap());
    let second = catalog.begin_verification(&id, &operator(), None).unwrap();

    match second {
        Begun::AlreadyRunning(v) => assert_eq!(v.check_id, first.check_id),
        other => panic!("{other:?}"),
    }
    assert_eq!(first.status, VerificationStatus::InProgress);
    assert!(first.check_id.as_str().starts_with("CHK-"));
    assert_eq!(catalog.list_verifications(&id, 10, 0).unwrap().len(), 1);
}

#[test]
fn a_verification_whose_runner_stopped_renewing_is_closed_and_a_new_one_starts() {
    let (dir, catalog) = catalog();
    let id = backup(&catalog, &dir, true);
    let stale = started(
        catalog
            .begin_verification(&id, &operator(), Some(("gone", Duration::ZERO)))
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(5));

    let fresh = started(catalog.begin_verification(&id, &operator(), None).unwrap());

    assert_ne!(fresh.check_id, stale.check_id);
    let closed = catalog.get_verification(&stale.check_id).unwrap();
    assert_eq!(closed.status, VerificationStatus::Fail);
    assert_eq!(closed.checks.len(), 5);
    assert!(closed.checks[0].detail.contains("abandoned"));
    assert!(matches!(
        catalog
            .claim_verification(&stale.check_id, "b", Duration::from_secs(5))
            .unwrap(),
        Claim::Finished(VerificationStatus::Fail)
    ));
}

#[test]
fn a_claimed_verification_cannot_be_claimed_twice_and_its_result_is_kept_once() {
    let (dir, catalog) = catalog();
    let id = backup(&catalog, &dir, true);
    let v = started(catalog.begin_verification(&id, &operator(), None).unwrap());
    let ttl = Duration::from_secs(30);

    assert!(matches!(
        catalog.claim_verification(&v.check_id, "a", ttl).unwrap(),
        Claim::Claimed(_)
    ));
    assert!(matches!(
        catalog.claim_verification(&v.check_id, "b", ttl).unwrap(),
        Claim::HeldElsewhere { owner } if owner == "a"
    ));
    assert!(!catalog.renew_verification(&v.check_id, "b", ttl).unwrap());
    assert!(catalog.renew_verification(&v.check_id, "a", ttl).unwrap());
    let report = VerifyReport::not_run("test");
    assert!(catalog.finish_verification(&v.check_id, &report).unwrap());
    assert!(!catalog.finish_verification(&v.check_id, &report).unwrap());
    assert!(!catalog.renew_verification(&v.check_id, "a", ttl).unwrap());
}

#[test]
fn only_a_successful_backup_can_be_verified_and_an_unknown_one_is_not_found() {
    let (dir, catalog) = catalog();
    let running = backup(&catalog, &dir, false);
    let unknown = BackupId::parse("BKP-20200101-000000-manual").unwrap();

    assert!(matches!(
        catalog
            .begin_verification(&running, &operator(), None)
            .unwrap(),
        Begun::NotVerifiable(BackupStatus::InProgress)
    ));
    assert!(matches!(
        catalog.begin_verification(&unknown, &operator(), None),
        Err(nexus_shared::catalog::CatalogError::NotFound)
    ));
}

#[test]
fn the_last_verification_of_a_backup_is_its_latest_finished_one() {
    let (dir, catalog) = catalog();
    let id = backup(&catalog, &dir, true);
    let never = backup(&catalog, &dir, true);
    let first = started(catalog.begin_verification(&id, &operator(), None).unwrap());
    catalog
        .finish_verification(&first.check_id, &VerifyReport::not_run("first"))
        .unwrap();
    let second = started(catalog.begin_verification(&id, &operator(), None).unwrap());
    catalog
        .finish_verification(&second.check_id, &VerifyReport::not_run("second"))
        .unwrap();
    let _running = started(catalog.begin_verification(&id, &operator(), None).unwrap());

    let last = catalog
        .last_verifications(&[id.clone(), never.clone()])
        .unwrap();

    assert_eq!(last.len(), 1);
    assert_eq!(last[&id].check_id, second.check_id);
    let history = catalog.list_verifications(&id, 10, 0).unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[0].status, VerificationStatus::InProgress);
    assert_eq!(history[1].check_id, second.check_id);
}
