//! Leases: the right of one runner at a time to run a recorded backup,
//! restore or verification, with an expiry the runner renews while it
//! works (`runner::LeaseKeeper`). A lease whose runner died expires, and
//! the next runner takes it over. One definition serves the three tables;
//! the named locks that keep backups waiting while a restore rewrites the
//! live database are in [`locks`].

mod locks;

use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use super::{Catalog, CatalogError, OptionalRow, RestoreRecord, Result, Verification, checks};
use crate::domain::{BackupId, BackupStatus, CheckId, RestoreId};
pub use locks::{LIVE_DATABASE, LockOutcome};

/// What asking for a lease found.
#[derive(Debug)]
pub enum Claim<T, S> {
    /// The caller now runs it, and renews the lease until it ends.
    Claimed(T),
    /// Another runner holds a lease that has not expired.
    HeldElsewhere { owner: String },
    /// Nothing left to run: it ended with this status.
    Finished(S),
}

/// A table whose rows runners lease: `status`, `lease_owner` and
/// `lease_expires_at` (milliseconds since the epoch) columns.
#[derive(Clone, Copy)]
struct Leased {
    table: &'static str,
    id_column: &'static str,
    /// It has an `attempts` column, counted at each claim.
    counts_attempts: bool,
}

#[rustfmt::skip]
const BACKUPS: Leased = Leased { table: "backups", id_column: "backup_id", counts_attempts: true };
#[rustfmt::skip]
const RESTORES: Leased = Leased { table: "restores", id_column: "restore_id", counts_attempts: true };
#[rustfmt::skip]
const VERIFICATIONS: Leased = Leased { table: "backup_integrity_checks", id_column: "check_id", counts_attempts: false };

pub(super) fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// When a lease taken now for `ttl` expires.
pub(super) fn expiry(ttl: Duration) -> i64 {
    now_millis() + ttl.as_millis() as i64
}

impl Leased {
    /// Takes the lease on `id` inside `tx` unless the row has ended or
    /// another runner's lease is live. Taking it again as its owner
    /// renews it. `NotFound` if there is no such row.
    fn take(
        self,
        tx: &Transaction<'_>,
        id: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Claim<(), String>> {
        let Leased {
            table,
            id_column,
            counts_attempts,
        } = self;
        let (status, holder, expires): (String, Option<String>, Option<i64>) = tx
            .query_row(
                &format!("SELECT status, lease_owner, lease_expires_at FROM {table} WHERE {id_column} = ?1"),
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .found()?;
        if status != "in_progress" {
            return Ok(Claim::Finished(status));
        }
        if let (Some(holder), Some(expires)) = (holder, expires)
            && holder != owner
            && expires > now_millis()
        {
            return Ok(Claim::HeldElsewhere { owner: holder });
        }
        let attempts = if counts_attempts {
            ", attempts = attempts + 1"
        } else {
            ""
        };
        tx.execute(
            &format!("UPDATE {table} SET lease_owner = ?2, lease_expires_at = ?3{attempts} WHERE {id_column} = ?1"),
            params![id, owner, expiry(ttl)],
        )?;
        Ok(Claim::Claimed(()))
    }

    /// Extends `owner`'s lease on `id`. False when it is no longer theirs
    /// (taken over) or the row has ended.
    fn renew(self, conn: &Connection, id: &str, owner: &str, ttl: Duration) -> Result<bool> {
        let Leased {
            table, id_column, ..
        } = self;
        let updated = conn.execute(
            &format!(
                "UPDATE {table} SET lease_expires_at = ?3
                 WHERE {id_column} = ?1 AND lease_owner = ?2 AND status = 'in_progress'"
            ),
            params![id, owner, expiry(ttl)],
        )?;
        Ok(updated == 1)
    }

    /// Takes the lease in a transaction of its own and reads the row.
    fn claim<T, S: std::str::FromStr>(
        self,
        catalog: &Catalog,
        id: &str,
        owner: &str,
        ttl: Duration,
        read: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<Claim<T, S>>
    where
        S::Err: std::fmt::Display,
    {
        let mut conn = catalog.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let claim = match self.take(&tx, id, owner, ttl)? {
            Claim::Claimed(()) => Claim::Claimed(read(&tx)?),
            Claim::HeldElsewhere { owner } => Claim::HeldElsewhere { owner },
            Claim::Finished(status) => Claim::Finished(status.parse().map_err(|e| {
                CatalogError::Corrupt(format!("{} status {status:?}: {e}", self.table))
            })?),
        };
        tx.commit()?;
        Ok(claim)
    }
}

impl Catalog {
    /// Takes the right to run a backup for `ttl`. Counts the attempt.
    pub fn claim_backup(
        &self,
        id: &BackupId,
        owner: &str,
        ttl: Duration,
    ) -> Result<Claim<(), BackupStatus>> {
        BACKUPS.claim(self, &id.to_string(), owner, ttl, |_| Ok(()))
    }

    pub fn renew_backup(&self, id: &BackupId, owner: &str, ttl: Duration) -> Result<bool> {
        BACKUPS.renew(&*self.writer()?, &id.to_string(), owner, ttl)
    }

    /// Takes the right to run a restore for `ttl`. Counts the attempt.
    pub fn claim_restore(
        &self,
        id: &RestoreId,
        owner: &str,
        ttl: Duration,
    ) -> Result<Claim<Box<RestoreRecord>, BackupStatus>> {
        RESTORES.claim(self, id.as_str(), owner, ttl, |tx| {
            super::restores::get(tx, id).map(Box::new)
        })
    }

    pub fn renew_restore(&self, id: &RestoreId, owner: &str, ttl: Duration) -> Result<bool> {
        RESTORES.renew(&*self.writer()?, id.as_str(), owner, ttl)
    }

    /// Takes the right to run a recorded verification for `ttl`.
    /// `NotFound` if it is gone (its backup was deleted).
    pub fn claim_verification(
        &self,
        id: &CheckId,
        owner: &str,
        ttl: Duration,
    ) -> Result<Claim<Verification, super::VerificationStatus>> {
        VERIFICATIONS.claim(self, id.as_str(), owner, ttl, |tx| checks::get(tx, id))
    }

    pub fn renew_verification(&self, id: &CheckId, owner: &str, ttl: Duration) -> Result<bool> {
        VERIFICATIONS.renew(&*self.writer()?, id.as_str(), owner, ttl)
    }
}

/// The lease a new verification starts with when its runner is the caller.
pub(super) fn lease_columns(lease: Option<(&str, Duration)>) -> (Option<String>, Option<i64>) {
    match lease {
        Some((owner, ttl)) => (Some(owner.to_owned()), Some(expiry(ttl))),
        None => (None, None),
    }
}
