//! The audit trail refuses changes, and its hash chain detects the changes
//! made behind the service's back (SPEC §9).

use nexus_shared::catalog::{AuditEntry, AuditResult, AuditSource, Catalog};
use rusqlite::Connection;

fn trail_of(n: usize) -> (tempfile::TempDir, Catalog) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(&dir.path().join("catalog.db")).unwrap();
    for i in 0..n {
        catalog
            .append_audit(
                &AuditEntry::system(AuditSource::Worker, "backup.run", AuditResult::Success)
                    .target(format!("BKP-20260131-0200{i:02}-daily"))
                    .detail(format!("entry {i}")),
            )
            .unwrap();
    }
    (dir, catalog)
}

/// Tampering as someone with the file would: with the triggers dropped.
fn tamper(catalog: &Catalog, sql: &str) {
    let conn = Connection::open(catalog.path()).unwrap();
    conn.execute_batch(&format!(
        "DROP TRIGGER audit_logs_are_append_only_update;
         DROP TRIGGER audit_logs_are_append_only_delete;
         {sql}"
    ))
    .unwrap();
}

#[test]
fn an_untouched_trail_verifies() {
    let (_dir, catalog) = trail_of(6);
    let report = catalog.verify_audit_chain().unwrap();
    assert_eq!(report.records, 6);
    assert_eq!(report.problem, None);
}

#[test]
fn the_store_refuses_to_update_or_delete_audit_records() {
    let (_dir, catalog) = trail_of(2);
    let conn = Connection::open(catalog.path()).unwrap();
    let update = conn.execute("UPDATE audit_logs SET detail = 'x' WHERE id = 1", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = conn.execute("DELETE FROM audit_logs WHERE id = 1", []);
    assert!(delete.unwrap_err().to_string().contains("append-only"));
}

#[test]
fn an_edited_record_is_named() {
    let (_dir, catalog) = trail_of(6);
    tamper(
        &catalog,
        "UPDATE audit_logs SET result = 'failure' WHERE id = 3;",
    );
    let (id, why) = catalog.verify_audit_chain().unwrap().problem.unwrap();
    assert_eq!(id, 3);
    assert!(why.contains("edited"), "{why}");
}

#[test]
fn a_removed_record_is_detected_at_the_gap() {
    let (_dir, catalog) = trail_of(6);
    tamper(&catalog, "DELETE FROM audit_logs WHERE id = 4;");
    let (id, why) = catalog.verify_audit_chain().unwrap().problem.unwrap();
    assert_eq!(id, 5);
    assert!(why.contains("missing"), "{why}");
}

#[test]
fn swapped_records_are_detected_at_the_first_of_them() {
    let (_dir, catalog) = trail_of(6);
    // Swap the content of two records, keeping ids in order.
    tamper(
        &catalog,
        "UPDATE audit_logs SET detail = 'entry 4' WHERE id = 2; UPDATE audit_logs SET detail = 'entry 1' WHERE id = 5;",
    );
    let (id, _) = catalog.verify_audit_chain().unwrap().problem.unwrap();
    assert_eq!(id, 2);
}

#[test]
fn a_record_inserted_by_hand_breaks_the_chain() {
    let (_dir, catalog) = trail_of(3);
    tamper(
        &catalog,
        "INSERT INTO audit_logs (id, occurred_at, actor, source, action, result, created_at)
         VALUES (4, '2026-01-31T00:00:00Z', 'mallory', 'api', 'backup.delete', 'success', '2026-01-31T00:00:00Z');",
    );
    let (id, why) = catalog.verify_audit_chain().unwrap().problem.unwrap();
    assert_eq!(id, 4);
    assert!(why.contains("no hash"), "{why}");
}
