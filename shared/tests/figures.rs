//! `Catalog::figures`, what `GET /metrics` serves, over a catalog whose rows
//! are written straight into its tables: counts per type and status, the
//! newest success and its size, the duration histogram, verifications
//! (and the backups whose latest one failed), restores, offsite copies.

use nexus_shared::catalog::{Catalog, DURATION_BUCKETS};
use nexus_shared::domain::{BackupStatus, BackupType};
use rusqlite::{Connection, params};

const T0: &str = "2026-01-31T05:00:00.000000Z";

fn backup(conn: &Connection, id: &str, t: &str, status: &str, completed: Option<&str>, size: i64) {
    conn.execute(
        "INSERT INTO backups (backup_id, backup_type, status, phase, file_path, file_size,
             created_by_name, started_at, completed_at, created_at)
         VALUES (?1, ?2, ?3, 'done', ?1, ?4, 'admin', ?5, ?6, ?5)",
        params![id, t, status, size, T0, completed],
    )
    .unwrap();
}

fn check(conn: &Connection, id: &str, backup_id: &str, status: &str, checked_at: &str) {
    conn.execute(
        "INSERT INTO backup_integrity_checks (check_id, backup_id, status, requested_by_name,
             started_at, checked_at, created_at)
         VALUES (?1, ?2, ?3, 'admin', ?4, ?4, ?4)",
        params![id, backup_id, status, checked_at],
    )
    .unwrap();
}

#[test]
fn the_figures_sum_up_backups_verifications_restores_and_offsite_copies() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(&dir.path().join("catalog.db")).unwrap();
    let conn = Connection::open(catalog.path()).unwrap();
    // Two daily successes (3 s and 90 s after T0), a daily failure, a manual
    // one still running.
    backup(
        &conn,
        "BKP-20260131-140000-daily",
        "daily",
        "success",
        Some("2026-01-31T05:00:03.000000Z"),
        100,
    );
    backup(
        &conn,
        "BKP-20260131-140001-daily",
        "daily",
        "success",
        Some("2026-01-31T05:01:30.500000Z"),
        200,
    );
    backup(
        &conn,
        "BKP-20260131-140002-daily",
        "daily",
        "failure",
        Some("2026-01-31T05:00:01.000000Z"),
        0,
    );
    backup(
        &conn,
        "BKP-20260131-140003-manual",
        "manual",
        "in_progress",
        None,
        0,
    );
    // The first daily failed, then passed: not failing. The second passed,
    // then failed: failing.
    check(
        &conn,
        "CHK-1",
        "BKP-20260131-140000-daily",
        "fail",
        "2026-01-31T06:00:00.000000Z",
    );
    check(
        &conn,
        "CHK-2",
        "BKP-20260131-140000-daily",
        "pass",
        "2026-01-31T07:00:00.000000Z",
    );
    check(
        &conn,
        "CHK-3",
        "BKP-20260131-140001-daily",
        "pass",
        "2026-01-31T06:00:00.000000Z",
    );
    check(
        &conn,
        "CHK-4",
        "BKP-20260131-140001-daily",
        "fail",
        "2026-01-31T07:00:00.000000Z",
    );
    for (id, status) in [
        ("RST-1", "success"),
        ("RST-2", "failure"),
        ("RST-3", "in_progress"),
    ] {
        conn.execute(
            "INSERT INTO restores (restore_id, backup_id, status, phase, target,
                 requested_by_name, started_at, created_at)
             VALUES (?1, 'BKP-20260131-140000-daily', ?2, 'done', 'live', 'admin', ?3, ?3)",
            params![id, status, T0],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO offsite_copies (backup_id, backup_type, started_at, state, object_key,
             checksum, file_size, created_at, updated_at)
         VALUES ('BKP-20260131-140000-daily', 'daily', ?1, 'stored', 'k', 'sha256:00', 100, ?1, ?1)",
        params![T0],
    )
    .unwrap();

    let f = catalog.figures().unwrap();

    let count = |t, s| {
        f.backups
            .iter()
            .find(|(bt, bs, _)| *bt == t && *bs == s)
            .map_or(0, |r| r.2)
    };
    assert_eq!(count(BackupType::Daily, BackupStatus::Success), 2);
    assert_eq!(count(BackupType::Daily, BackupStatus::Failure), 1);
    assert_eq!(count(BackupType::Manual, BackupStatus::InProgress), 1);
    assert_eq!(count(BackupType::Weekly, BackupStatus::Success), 0);

    let [(BackupType::Daily, newest)] = f.newest_success.as_slice() else {
        panic!("{:?}", f.newest_success)
    };
    assert_eq!(
        newest.completed_at.to_rfc3339(),
        "2026-01-31T05:01:30.500+00:00"
    );
    assert_eq!(newest.file_size, 200, "the size of the newest success");

    let [(BackupType::Daily, d)] = f.durations.as_slice() else {
        panic!("{:?}", f.durations)
    };
    assert_eq!(d.count, 2);
    assert!((d.sum_secs - 93.5).abs() < 0.01, "{}", d.sum_secs);
    let at_most =
        |secs: f64| d.cumulative[DURATION_BUCKETS.iter().position(|b| *b == secs).unwrap()];
    assert_eq!(
        (at_most(1.0), at_most(5.0), at_most(60.0), at_most(120.0)),
        (0, 1, 1, 2)
    );

    assert_eq!(f.verifications.pass, 2);
    assert_eq!(f.verifications.fail, 2);
    assert_eq!(f.verifications.backups_failing, 1);

    assert_eq!(f.restores.len(), 2, "finished ones only: {:?}", f.restores);
    assert!(f.restores.contains(&(BackupStatus::Success, 1)));
    assert!(f.restores.contains(&(BackupStatus::Failure, 1)));

    let stored = f
        .offsite
        .iter()
        .find(|(s, _)| s.as_str() == "stored")
        .unwrap();
    assert_eq!(stored.1, 1);
    assert_eq!(f.offsite.len(), 4, "every state, zeros included");
}
