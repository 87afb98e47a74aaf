//! Named locks with an owner and an expiry, renewed while held. A restore
//! holds [`LIVE_DATABASE`]; the backup runner waits on it before its
//! snapshot ([`Catalog::pass_live_database`]), and the restore waits for
//! backups already copying the database before it writes
//! ([`Catalog::backups_reading_live_database`]).

use std::time::Duration;

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{expiry, now_millis};
use crate::catalog::{Catalog, CatalogError, Result, time};
use crate::domain::BackupId;

/// The lock a restore holds on the ITSM database while it works.
pub const LIVE_DATABASE: &str = "live_database";

#[derive(Debug, PartialEq, Eq)]
pub enum LockOutcome {
    Acquired,
    HeldBy { owner: String },
}

impl Catalog {
    /// Takes the lock `name` for `ttl`, unless someone else holds it and
    /// has not let it expire. Taking it again as its owner renews it.
    pub fn acquire_lock(&self, name: &str, owner: &str, ttl: Duration) -> Result<LockOutcome> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let holder: Option<(String, i64)> = tx
            .query_row(
                "SELECT owner, expires_at FROM locks WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((holder, expires)) = holder
            && holder != owner
            && expires > now_millis()
        {
            return Ok(LockOutcome::HeldBy { owner: holder });
        }
        let now = time::now_text();
        tx.execute(
            "INSERT INTO locks (name, owner, let_through, expires_at, acquired_at, created_at)
             VALUES (?1, ?2, NULL, ?3, ?4, ?4)
             ON CONFLICT (name) DO UPDATE SET owner = ?2, let_through = NULL, expires_at = ?3,
                 acquired_at = ?4",
            params![name, owner, expiry(ttl), now],
        )?;
        tx.commit()?;
        Ok(LockOutcome::Acquired)
    }

    /// Extends a held lock. False when the caller no longer holds it.
    pub fn renew_lock(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool> {
        let updated = self.writer()?.execute(
            "UPDATE locks SET expires_at = ?3 WHERE name = ?1 AND owner = ?2",
            params![name, owner, expiry(ttl)],
        )?;
        Ok(updated == 1)
    }

    pub fn release_lock(&self, name: &str, owner: &str) -> Result<()> {
        self.writer()?.execute(
            "DELETE FROM locks WHERE name = ?1 AND owner = ?2",
            (name, owner),
        )?;
        Ok(())
    }

    /// Lets one backup through the held lock `name` (the restore's own
    /// safety backup); None lets none through.
    pub fn let_through_lock(
        &self,
        name: &str,
        owner: &str,
        backup: Option<&BackupId>,
    ) -> Result<bool> {
        let updated = self.writer()?.execute(
            "UPDATE locks SET let_through = ?3 WHERE name = ?1 AND owner = ?2",
            params![name, owner, backup.map(|b| b.to_string())],
        )?;
        Ok(updated == 1)
    }

    /// For the backup runner, before its snapshot: `Some(holder)` while a
    /// restore holds [`LIVE_DATABASE`] (unless it lets this backup
    /// through); else `None`, and the backup's phase becomes `preflight` in
    /// the same transaction, so a restore that takes the lock right after
    /// sees it among [`Catalog::backups_reading_live_database`] and waits
    /// for its snapshot to end. The runner asks again until it may pass.
    pub fn pass_live_database(&self, backup: &BackupId) -> Result<Option<String>> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let holder: Option<(String, Option<String>)> = tx
            .query_row(
                "SELECT owner, let_through FROM locks WHERE name = ?1 AND expires_at > ?2",
                params![LIVE_DATABASE, now_millis()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match holder {
            Some((owner, let_through)) if let_through.as_deref() != Some(&backup.to_string()) => {
                Ok(Some(owner))
            }
            _ => {
                tx.execute(
                    "UPDATE backups SET phase = 'preflight'
                     WHERE backup_id = ?1 AND status = 'in_progress' AND phase = 'queued'",
                    [backup.to_string()],
                )?;
                tx.commit()?;
                Ok(None)
            }
        }
    }

    /// Backups running their pre-flight or snapshot, i.e. reading the live
    /// database, under a live lease.
    pub fn backups_reading_live_database(&self) -> Result<Vec<BackupId>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT backup_id FROM backups
             WHERE status = 'in_progress' AND phase IN ('preflight', 'snapshot')
               AND lease_owner IS NOT NULL AND lease_expires_at > ?1",
        )?;
        stmt.query_map([now_millis()], |r| r.get::<_, String>(0))?
            .map(|id| {
                BackupId::parse(&id?).map_err(|e| CatalogError::Corrupt(format!("backup id: {e}")))
            })
            .collect()
    }
}
