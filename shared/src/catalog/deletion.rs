//! Deleting backup records in the steps that survive a crash: the record
//! is marked (`deleting_at`) after the rules allow it, the caller removes
//! the files, then the record goes. A record left marked is found by
//! reconciliation and its deletion finished.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior};

use super::{BackupRecord, Catalog, CatalogError, Result, time};
use crate::domain::BackupId;
use crate::retention::{self, BackupSummary, Refusal};

/// Every record not being deleted.
fn summaries(conn: &Connection) -> Result<Vec<BackupSummary>> {
    let mut stmt = conn.prepare_cached(
        "SELECT backup_id, status, started_at FROM backups
         WHERE deleting_at IS NULL ORDER BY started_at",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    rows.map(|row| {
        let (id, status, started_at) = row?;
        let corrupt = |e: String| CatalogError::Corrupt(format!("backup {id}: {e}"));
        Ok(BackupSummary {
            id: BackupId::parse(&id).map_err(|e| corrupt(e.to_string()))?,
            status: status.parse().map_err(corrupt)?,
            started_at: time::parse_utc(&started_at)?,
        })
    })
    .collect()
}

/// A deletion that started and did not finish.
#[derive(Debug, Clone)]
pub struct PendingDeletion {
    pub id: BackupId,
    pub since: DateTime<Utc>,
}

impl Catalog {
    /// What the retention rules weigh: every record not being deleted.
    pub fn backup_summaries(&self) -> Result<Vec<BackupSummary>> {
        summaries(&*self.reader()?)
    }

    /// Checks the deletion rules and marks the record as being deleted, in
    /// one transaction, so two deletions at once cannot together remove
    /// what each alone may not. `NotFound` for an unknown id or a record
    /// already being deleted.
    pub fn begin_deletion(&self, id: &BackupId) -> Result<Result<BackupRecord, Refusal>> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let records = summaries(&tx)?;
        if !records.iter().any(|r| &r.id == id) {
            return Err(CatalogError::NotFound);
        }
        if let Some(refusal) = retention::deletion_refusal(&records, id) {
            return Ok(Err(refusal));
        }
        tx.execute(
            "UPDATE backups SET deleting_at = ?2 WHERE backup_id = ?1",
            (id.to_string(), time::now_text()),
        )?;
        tx.commit()?;
        self.get_backup(id).map(Ok)
    }

    /// Takes back a deletion whose files could not be removed.
    pub fn cancel_deletion(&self, id: &BackupId) -> Result<()> {
        let conn = self.writer()?;
        conn.execute(
            "UPDATE backups SET deleting_at = NULL WHERE backup_id = ?1",
            [id.to_string()],
        )?;
        Ok(())
    }

    /// Removes a record marked by [`Catalog::begin_deletion`] once its
    /// files are gone; its integrity checks go with it.
    pub fn finish_deletion(&self, id: &BackupId) -> Result<()> {
        let conn = self.writer()?;
        conn.execute(
            "DELETE FROM backups WHERE backup_id = ?1 AND deleting_at IS NOT NULL",
            [id.to_string()],
        )?;
        Ok(())
    }

    /// Records marked for deletion, oldest mark first.
    pub fn pending_deletions(&self) -> Result<Vec<PendingDeletion>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT backup_id, deleting_at FROM backups
             WHERE deleting_at IS NOT NULL ORDER BY deleting_at",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        rows.map(|row| {
            let (id, since) = row?;
            Ok(PendingDeletion {
                id: BackupId::parse(&id).map_err(|e| CatalogError::Corrupt(e.to_string()))?,
                since: time::parse_utc(&since)?,
            })
        })
        .collect()
    }
}
