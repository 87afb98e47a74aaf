//! The sweeper: a backup record must never stay `in_progress` forever.
//!
//! apalis hands the jobs of a dead worker to a live one; this covers what
//! it cannot: a record whose job was never enqueued (the API died between
//! the two writes) or is missing from the queue gets a new job, and a record
//! whose job has ended without recording a result (attempts used up) is
//! marked failed. With offsite copies on, a successful backup that has no
//! copy (its job was never queued, or copies were turned on later) gets
//! one queued.

use std::time::Duration;

use chrono::Utc;
use nexus_shared::catalog::{AuditEntry, AuditResult, AuditSource, BackupRecord};
use nexus_shared::domain::ErrorInfo;
use nexus_shared::queue::Job;
use tokio::sync::watch;

use crate::JobContext;

const INTERVAL: Duration = Duration::from_secs(15);
/// A record younger than this may still be getting its job from the API.
const ENQUEUE_GRACE: chrono::Duration = chrono::Duration::seconds(30);

pub async fn run(ctx: JobContext, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(e) = sweep(&ctx).await {
            tracing::warn!(error = format!("{e:#}"), "sweep failed; trying again later");
        }
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// One pass over the unclaimed in-progress records.
pub async fn sweep(ctx: &JobContext) -> anyhow::Result<()> {
    sweep_restores(ctx).await?;
    sweep_offsite(ctx).await?;
    let records = ctx.blocking(|c| c.unclaimed_in_progress()).await?;
    for record in records {
        let job = match &record.job_id {
            Some(job_id) => Some(ctx.queue.job_state(job_id).await?),
            None => None,
        };
        match job {
            Some(Some(state)) if state.is_terminal() => {
                let detail = format!(
                    "the job ended ({}, {} of {} attempts) without recording a result",
                    state.status, state.attempts, state.max_attempts
                );
                give_up(ctx, &record, detail).await?;
            }
            Some(Some(_)) => {} // queued or running: the queue will get to it
            Some(None) => reenqueue(ctx, &record, "its job is missing from the queue").await?,
            None if Utc::now() - record.started_at > ENQUEUE_GRACE => {
                reenqueue(ctx, &record, "it was never enqueued").await?
            }
            None => {}
        }
    }
    Ok(())
}

/// Queues the offsite copy of successful backups that have none. The
/// idempotency key makes this happen at most once per backup: a copy that
/// still cannot be made is then the operator's (`POST …/offsite`).
async fn sweep_offsite(ctx: &JobContext) -> anyhow::Result<()> {
    if !ctx.settings.offsite.enabled() {
        return Ok(());
    }
    let grace = chrono::Duration::seconds(
        i64::try_from(ctx.settings.offsite.backfill_after_secs).unwrap_or(i64::MAX / 1000),
    );
    let before = Utc::now() - grace;
    let (retention, tz) = (ctx.settings.offsite.retention.clone(), ctx.settings.tz());
    let ids = ctx
        .blocking(move |c| nexus_shared::service::offsite::backlog(c, before, &retention, tz))
        .await?;
    for id in ids {
        tracing::info!(backup_id = %id, "a successful backup has no offsite copy: queueing one");
        let key = format!("offsite-sweep:{id}");
        ctx.queue
            .push(Job::Offsite { backup_id: id }, Some(&key))
            .await?;
    }
    Ok(())
}

async fn reenqueue(ctx: &JobContext, record: &BackupRecord, why: &str) -> anyhow::Result<()> {
    tracing::warn!(backup_id = %record.id, why, "re-enqueueing a backup");
    let job_id = ctx
        .queue
        .push(
            Job::Backup {
                backup_id: record.id.clone(),
            },
            None,
        )
        .await?;
    let id = record.id.clone();
    ctx.blocking(move |c| c.set_job_id(&id, &job_id)).await
}

async fn give_up(ctx: &JobContext, record: &BackupRecord, detail: String) -> anyhow::Result<()> {
    tracing::error!(backup_id = %record.id, %detail, "marking an abandoned backup as failed");
    let error = ErrorInfo {
        code: "job_abandoned".into(),
        message: detail.clone(),
        details: None,
    };
    let id = record.id.clone();
    let marked = ctx
        .blocking(move |c| c.mark_failure(&id, None, &error))
        .await?;
    if marked {
        let entry = AuditEntry::system(AuditSource::Worker, "backup.run", AuditResult::Failure)
            .target(record.id.to_string())
            .detail(detail);
        ctx.blocking(move |c| c.append_audit(&entry)).await?;
    }
    Ok(())
}

/// A restore whose job has ended or vanished without recording a result is
/// failed, never run again on its own: a restore rewrites the live database
/// and runs only from a live, confirmed request.
async fn sweep_restores(ctx: &JobContext) -> anyhow::Result<()> {
    for restore in ctx.blocking(|c| c.unclaimed_restores()).await? {
        let state = match &restore.job_id {
            Some(job_id) => ctx.queue.job_state(job_id).await?,
            None => None,
        };
        let gone = match &state {
            Some(state) => state.is_terminal(),
            None => Utc::now() - restore.started_at > ENQUEUE_GRACE,
        };
        if !gone {
            continue;
        }
        let error = ErrorInfo {
            code: "restore_abandoned".into(),
            message: "the restore's job ended or was lost without recording a result".into(),
            details: None,
        };
        tracing::error!(restore_id = %restore.id, "marking an abandoned restore as failed");
        let id = restore.id.clone();
        let closed = ctx
            .blocking(move |c| c.finish_restore(&id, None, Some(&error)))
            .await?;
        if closed {
            let entry =
                AuditEntry::system(AuditSource::Worker, "restore.run", AuditResult::Failure)
                    .target(restore.id.to_string())
                    .detail("restore_abandoned");
            ctx.blocking(move |c| c.append_audit(&entry)).await?;
        }
    }
    Ok(())
}
