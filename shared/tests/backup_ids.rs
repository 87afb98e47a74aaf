//! Backup ids of one type in one second: `-2`, `-3`… after the highest
//! recorded, skipping any file that has no record, without looking at
//! every earlier id (an API under load asks for hundreds in one second).

use chrono::{TimeZone, Utc};
use nexus_shared::catalog::{Catalog, NewBackup};
use nexus_shared::domain::{BackupType, CreatedBy};

fn new_backup(backup_type: BackupType) -> NewBackup {
    NewBackup {
        backup_type,
        description: None,
        created_by: CreatedBy {
            id: None,
            username: "operator".into(),
        },
        started_at: Utc.with_ymd_and_hms(2026, 1, 31, 5, 30, 25).unwrap(),
    }
}

#[test]
fn backups_in_one_second_take_the_next_sequence_and_skip_files_without_records() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("backups");
    let catalog = Catalog::open(&dir.path().join("catalog.db")).unwrap();
    let tz = chrono_tz::Asia::Tokyo;
    let create = |t| catalog.create_backup(&new_backup(t), tz, &root).unwrap().id;

    let ids: Vec<String> = (0..12)
        .map(|_| create(BackupType::Manual).to_string())
        .collect();
    assert_eq!(ids[0], "BKP-20260131-143025-manual");
    assert_eq!(ids[1], "BKP-20260131-143025-manual-2");
    assert_eq!(ids[11], "BKP-20260131-143025-manual-12");
    // Another type in the same second starts from 1.
    assert_eq!(
        create(BackupType::Daily).to_string(),
        "BKP-20260131-143025-daily"
    );

    // A file of the next two sequences exists without a record.
    for n in [13, 14] {
        let file = root.join(format!(
            "manual/itsm_nexus_manual_20260131_143025_{n}.db.gz"
        ));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, b"orphan").unwrap();
    }
    assert_eq!(
        create(BackupType::Manual).to_string(),
        "BKP-20260131-143025-manual-15"
    );
}
