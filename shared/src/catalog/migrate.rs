//! Applies the SQL files of `migrations/` in order, once each. An applied
//! migration is never edited; a change is a new file.

use rusqlite::{Connection, TransactionBehavior};

use super::{Result, time};

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_catalog",
        include_str!("../../../migrations/0001_catalog.sql"),
    ),
    (
        "0002_integrity_checks",
        include_str!("../../../migrations/0002_integrity_checks.sql"),
    ),
    (
        "0003_schedules",
        include_str!("../../../migrations/0003_schedules.sql"),
    ),
    (
        "0004_restores",
        include_str!("../../../migrations/0004_restores.sql"),
    ),
    (
        "0005_disk_state",
        include_str!("../../../migrations/0005_disk_state.sql"),
    ),
    (
        "0006_audit_chain",
        include_str!("../../../migrations/0006_audit_chain.sql"),
    ),
    (
        "0007_token_version",
        include_str!("../../../migrations/0007_token_version.sql"),
    ),
    (
        "0008_offsite_copies",
        include_str!("../../../migrations/0008_offsite_copies.sql"),
    ),
    (
        "0009_error_details",
        include_str!("../../../migrations/0009_error_details.sql"),
    ),
    (
        "0010_verification_lease_owner",
        include_str!("../../../migrations/0010_verification_lease_owner.sql"),
    ),
];

pub(super) fn apply(conn: &mut Connection) -> Result<()> {
    // IMMEDIATE: the api and the worker may start at the same moment; one
    // applies the migrations, the other waits and then finds them applied.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             name       TEXT PRIMARY KEY,
             applied_at TEXT NOT NULL
         )",
    )?;
    for (name, sql) in MIGRATIONS {
        let applied: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE name = ?1)",
            [name],
            |r| r.get(0),
        )?;
        if !applied {
            tracing::info!(migration = name, "applying catalog migration");
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?1, ?2)",
                (name, time::now_text()),
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}
