use std::time::Duration;

use chrono::Utc;

use super::*;
use crate::catalog::{Claim, LIVE_DATABASE, LockOutcome, NewBackup};
use crate::domain::BackupType;

fn catalog() -> (tempfile::TempDir, Catalog) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(&dir.path().join("catalog.db")).unwrap();
    (dir, catalog)
}

fn admin() -> CreatedBy {
    CreatedBy {
        id: None,
        username: "admin".into(),
    }
}

fn backup(catalog: &Catalog, dir: &std::path::Path) -> BackupId {
    let new = NewBackup {
        backup_type: BackupType::Manual,
        description: None,
        created_by: admin(),
        started_at: Utc::now(),
    };
    catalog
        .create_backup(&new, chrono_tz::Asia::Tokyo, dir)
        .unwrap()
        .id
}

#[test]
fn a_restore_is_run_by_one_claimant_and_records_its_outcome() {
    let (dir, catalog) = catalog();
    let backup_id = backup(&catalog, dir.path());
    let record = catalog
        .create_restore(&NewRestore {
            backup_id: backup_id.clone(),
            target: "/srv/itsm_nexus.db".into(),
            requested_by: admin(),
        })
        .unwrap();
    assert_eq!(
        (record.status, record.phase),
        (BackupStatus::InProgress, RestorePhase::Queued)
    );
    let ttl = Duration::from_secs(60);

    let Claim::Claimed(claimed) = catalog.claim_restore(&record.id, "a", ttl).unwrap() else {
        panic!("first claim")
    };
    assert_eq!(claimed.attempts, 1);
    assert!(matches!(
        catalog.claim_restore(&record.id, "b", ttl).unwrap(),
        Claim::HeldElsewhere { owner } if owner == "a"
    ));
    assert!(
        catalog
            .set_restore_phase(&record.id, "a", RestorePhase::Apply)
            .unwrap()
    );
    assert!(
        !catalog
            .set_restore_phase(&record.id, "b", RestorePhase::Done)
            .unwrap()
    );
    assert!(
        catalog
            .set_restore_safety_backup(&record.id, "a", &backup_id)
            .unwrap()
    );
    let error = ErrorInfo {
        code: "restore_rolled_back".into(),
        message: "test".into(),
        details: None,
    };
    assert!(
        catalog
            .finish_restore(&record.id, Some("a"), Some(&error))
            .unwrap()
    );

    let done = catalog.get_restore(&record.id).unwrap();
    assert_eq!(done.status, BackupStatus::Failure);
    assert_eq!(done.phase, RestorePhase::Apply);
    assert_eq!(done.safety_backup_id, Some(backup_id));
    assert_eq!(done.error, Some(error));
    assert!(matches!(
        catalog.claim_restore(&record.id, "b", ttl).unwrap(),
        Claim::Finished(BackupStatus::Failure)
    ));
    assert_eq!(catalog.list_restores(10, 0).unwrap().1, 1);
}

#[test]
fn a_backup_may_not_pass_while_a_restore_holds_the_live_database_unless_it_is_let_through() {
    let (dir, catalog) = catalog();
    let waiting = backup(&catalog, dir.path());
    let safety = backup(&catalog, dir.path());
    let ttl = Duration::from_secs(60);
    assert_eq!(
        catalog.acquire_lock(LIVE_DATABASE, "restore", ttl).unwrap(),
        LockOutcome::Acquired
    );
    assert_eq!(
        catalog.acquire_lock(LIVE_DATABASE, "other", ttl).unwrap(),
        LockOutcome::HeldBy {
            owner: "restore".into()
        }
    );
    assert!(
        catalog
            .let_through_lock(LIVE_DATABASE, "restore", Some(&safety))
            .unwrap()
    );
    assert_eq!(catalog.pass_live_database(&safety).unwrap(), None);
    assert_eq!(
        catalog.pass_live_database(&waiting).unwrap().as_deref(),
        Some("restore")
    );
    assert_eq!(
        catalog.get_backup(&waiting).unwrap().phase.as_str(),
        "queued"
    );

    catalog.release_lock(LIVE_DATABASE, "restore").unwrap();

    assert_eq!(catalog.pass_live_database(&waiting).unwrap(), None);
    assert_eq!(
        catalog.get_backup(&waiting).unwrap().phase.as_str(),
        "preflight"
    );
}

#[test]
fn an_expired_lock_is_free_to_take() {
    let (_dir, catalog) = catalog();
    catalog
        .acquire_lock(LIVE_DATABASE, "dead", Duration::ZERO)
        .unwrap();
    assert_eq!(
        catalog
            .acquire_lock(LIVE_DATABASE, "alive", Duration::from_secs(60))
            .unwrap(),
        LockOutcome::Acquired
    );
    assert!(
        !catalog
            .renew_lock(LIVE_DATABASE, "dead", Duration::from_secs(60))
            .unwrap()
    );
}
