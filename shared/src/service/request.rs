//! Asking for a backup: record it, then enqueue its job and note the job's
//! id on the record. A person asking through the API and a schedule slot
//! firing both come through here.

use chrono::Utc;

use super::blocking;
use crate::catalog::{BackupRecord, Catalog, CatalogError, NewBackup, SlotBackup};
use crate::domain::{BackupId, BackupStatus, BackupType};
use crate::domain::{CreatedBy, ErrorInfo};
use crate::queue::{Job, Queue, QueueError};
use crate::settings::Settings;

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("cannot enqueue the backup: {0}")]
    Queue(#[from] QueueError),
}

/// Records the backup `new` and enqueues it. When the queue refuses, the
/// record is marked failed (`queue_unavailable`) so that nobody waits for
/// a job that will never come, and the error is returned.
pub async fn request_backup(
    catalog: &Catalog,
    queue: &Queue,
    settings: &Settings,
    new: NewBackup,
) -> Result<BackupRecord, RequestError> {
    let (tz, root) = (settings.tz(), settings.backup_root.clone());
    let record = blocking(catalog, move |c| c.create_backup(&new, tz, &root)).await?;
    match enqueue(catalog, queue, &record.id, None).await {
        Err(RequestError::Queue(e)) => {
            tracing::error!(backup_id = %record.id, error = %e, "cannot enqueue the backup");
            let error = ErrorInfo {
                code: "queue_unavailable".into(),
                message: e.to_string(),
                details: None,
            };
            let id = record.id.clone();
            blocking(catalog, move |c| c.mark_failure(&id, None, &error)).await?;
            Err(RequestError::Queue(e))
        }
        Err(e) => Err(e),
        Ok(_) => Ok(record),
    }
}

/// The backup of schedule slot `slot` (a key such as
/// `daily@2026-01-31T02:00:00+09:00`): recorded unless the slot already
/// has a record, and enqueued unless it already has a job, both keyed by
/// the slot. Calling it again for the same slot, from this scheduler or
/// another, changes nothing. If the queue refuses, the record waits for
/// the worker's sweeper to enqueue it.
pub async fn request_scheduled_backup(
    catalog: &Catalog,
    queue: &Queue,
    settings: &Settings,
    backup_type: BackupType,
    slot: &str,
) -> Result<SlotBackup, RequestError> {
    let new = NewBackup {
        backup_type,
        description: Some(format!("Scheduled {backup_type} backup")),
        created_by: CreatedBy {
            id: None,
            username: "scheduler".into(),
        },
        started_at: Utc::now(),
    };
    let (tz, root, key) = (settings.tz(), settings.backup_root.clone(), slot.to_owned());
    let backup = blocking(catalog, move |c| {
        c.create_scheduled_backup(&new, &key, tz, &root)
    })
    .await?;
    let record = backup.record();
    if record.job_id.is_none() && record.status == BackupStatus::InProgress {
        enqueue(catalog, queue, &record.id, Some(slot)).await?;
    }
    Ok(backup)
}

/// Pushes the backup's job (once per `idempotency_key`) and notes its id.
async fn enqueue(
    catalog: &Catalog,
    queue: &Queue,
    id: &BackupId,
    idempotency_key: Option<&str>,
) -> Result<String, RequestError> {
    let job = Job::Backup {
        backup_id: id.clone(),
    };
    let job_id = queue.push(job, idempotency_key).await?;
    let (id, noted) = (id.clone(), job_id.clone());
    blocking(catalog, move |c| c.set_job_id(&id, &noted)).await?;
    Ok(job_id)
}
