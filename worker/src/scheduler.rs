//! The scheduler (SPEC §2): enqueues the jobs of the configured schedules
//! and never does their work. It runs inside `nexus-worker` unless that is
//! started with `--no-scheduler`.
//!
//! Each schedule is a task sleeping until its next slot. Firing a slot is
//! idempotent (the slot key is the job's idempotency key and the backup
//! record's unique `schedule_slot`), so a restart, or a second scheduler
//! on the same catalog and queue, never does a slot's work twice. At
//! start-up a backup a killed scheduler recorded without enqueueing gets
//! its job, and the latest slot missed while nothing ran is fired once,
//! when `catch_up` is on. While the disk check has paused automatic
//! backups (CRITICAL usage), backup slots are skipped.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use nexus_shared::catalog::{AuditEntry, AuditResult, AuditSource};
use nexus_shared::domain::BackupType;
use nexus_shared::queue::Job;
use nexus_shared::schedule::{Action, CronExpr, Schedule};
use nexus_shared::service::request::request_scheduled_backup;
use tokio::sync::watch;
use tracing::Instrument as _;

use crate::JobContext;

/// Runs every schedule that is not off until `stop` turns true.
pub async fn run(ctx: JobContext, stop: watch::Receiver<bool>) {
    let tz = ctx.settings.tz();
    let mut tasks = tokio::task::JoinSet::new();
    for schedule in Schedule::all(&ctx.settings.schedule) {
        let Some(cron) = schedule.trigger.as_cron().cloned() else {
            tracing::info!(schedule = schedule.name, "schedule is off");
            continue;
        };
        tracing::info!(
            schedule = schedule.name,
            cron = %cron,
            timezone = %tz,
            next_run = ?schedule.next_run(Utc::now(), tz).map(|t| t.to_rfc3339()),
            "schedule armed"
        );
        let span = tracing::info_span!("schedule", name = schedule.name);
        tasks.spawn(drive(ctx.clone(), schedule, cron, stop.clone()).instrument(span));
    }
    tasks.join_all().await;
}

async fn drive(
    ctx: JobContext,
    schedule: Schedule,
    cron: CronExpr,
    mut stop: watch::Receiver<bool>,
) {
    let tz = ctx.settings.tz();
    let mut cursor = Utc::now();
    if let Action::Backup(backup_type) = schedule.action {
        finish_half_fired(&ctx, schedule.name, backup_type).await;
    }
    if ctx.settings.schedule.catch_up {
        catch_up(&ctx, &schedule, cursor).await;
    } else {
        tracing::info!("catch-up is off: slots missed while the scheduler was down stay missed");
    }
    loop {
        let Some(next) = cron.next_after(cursor, tz) else {
            tracing::info!("the schedule has no further slot");
            return;
        };
        let wait = (next.with_timezone(&Utc) - Utc::now())
            .to_std()
            .unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        // Woken late (a suspended machine, a slow catalog): fire only the
        // latest slot that has come, as a catch-up would.
        let slot = cron
            .latest_at_or_before(Utc::now(), tz)
            .filter(|latest| *latest > next)
            .unwrap_or(next);
        fire(&ctx, &schedule, slot).await;
        cursor = slot.with_timezone(&Utc);
    }
}

/// Enqueues the backups a stopped scheduler recorded but did not enqueue
/// (it died between the two), now rather than after the sweeper's grace.
async fn finish_half_fired(ctx: &JobContext, name: &'static str, backup_type: BackupType) {
    let slots = match ctx.blocking(move |c| c.unqueued_slots(name)).await {
        Ok(slots) => slots,
        Err(e) => {
            let error = format!("{e:#}");
            tracing::error!(error, "cannot look for scheduled backups without a job");
            return;
        }
    };
    for key in slots {
        tracing::info!(slot = %key, "enqueueing a scheduled backup left without its job");
        let (catalog, queue, settings) = (&ctx.catalog, &ctx.queue, &ctx.settings);
        if let Err(e) = request_scheduled_backup(catalog, queue, settings, backup_type, &key).await
        {
            tracing::error!(slot = %key, error = format!("{e:#}"), "cannot enqueue the scheduled backup");
        }
    }
}

/// Fires the latest slot missed since the schedule last fired (or since
/// the catalog first knew it), if any.
async fn catch_up(ctx: &JobContext, schedule: &Schedule, now: DateTime<Utc>) {
    let name = schedule.name;
    let run = match ctx.blocking(move |c| c.schedule_run(name)).await {
        Ok(run) => run,
        Err(e) => {
            tracing::error!(
                error = format!("{e:#}"),
                "cannot read when the schedule last fired; no catch-up"
            );
            return;
        }
    };
    let since = run.last_slot.unwrap_or(run.known_since);
    if let Some(slot) = schedule.missed_slot(since, now, ctx.settings.tz()) {
        tracing::info!(slot = %slot.to_rfc3339(), "catching up a slot missed while the scheduler was down");
        fire(ctx, schedule, slot).await;
    } else {
        tracing::info!("no slot was missed while the scheduler was down");
    }
}

/// Enqueues the slot's work (idempotently) and remembers that it fired. A
/// slot that fails to fire is logged; the next start-up catches it up.
async fn fire(ctx: &JobContext, schedule: &Schedule, slot: DateTime<Tz>) {
    let key = schedule.slot_key(slot);
    let fired = match enqueue(ctx, schedule.action, &key).await {
        Ok(fired) => fired,
        Err(e) => {
            tracing::error!(slot = %key, error = format!("{e:#}"), "cannot enqueue the scheduled job");
            return;
        }
    };
    let (name, at) = (schedule.name, slot.with_timezone(&Utc));
    match ctx
        .blocking(move |c| c.record_schedule_fired(name, at))
        .await
    {
        // Only the scheduler that first records the slot audits it.
        Ok(true) => {
            if fired.result == AuditResult::Accepted {
                tracing::info!(slot = %key, "{}", fired.detail);
            } else {
                tracing::warn!(slot = %key, "{}", fired.detail);
            }
            let entry = AuditEntry::system(AuditSource::Scheduler, fired.action, fired.result)
                .target(fired.target)
                .detail(format!("{} ({key})", fired.detail));
            if let Err(e) = ctx.blocking(move |c| c.append_audit(&entry)).await {
                tracing::error!(error = format!("{e:#}"), "cannot write the audit log");
            }
        }
        Ok(false) => tracing::debug!(slot = %key, "slot already fired elsewhere"),
        Err(e) => {
            tracing::warn!(slot = %key, error = format!("{e:#}"), "cannot record that the slot fired")
        }
    }
}

/// What a firing did, for the log and the audit trail.
struct Fired {
    action: &'static str,
    result: AuditResult,
    target: String,
    detail: String,
}

async fn enqueue(ctx: &JobContext, action: Action, key: &str) -> anyhow::Result<Fired> {
    let requested_by = || "scheduler".to_owned();
    let job = match action {
        Action::Backup(backup_type) => {
            // At CRITICAL disk usage the disk check pauses automatic backups
            // (guide §7.3): the slot is skipped, not missed.
            if ctx.blocking(|c| c.automatic_backups_paused()).await? {
                return Ok(Fired {
                    action: "backup.create",
                    result: AuditResult::Failure,
                    target: key.to_owned(),
                    detail: format!(
                        "scheduled {backup_type} backup skipped: automatic backups are paused while the backup storage is critically full"
                    ),
                });
            }
            let backup =
                request_scheduled_backup(&ctx.catalog, &ctx.queue, &ctx.settings, backup_type, key)
                    .await?;
            let record = backup.record();
            return Ok(Fired {
                action: "backup.create",
                result: AuditResult::Accepted,
                target: record.id.to_string(),
                detail: format!("scheduled {backup_type} backup {} enqueued", record.id),
            });
        }
        Action::VerifyAll => Job::VerifyAll {
            requested_by: requested_by(),
        },
        Action::Prune(backup_type) => Job::Prune {
            backup_types: vec![backup_type],
            requested_by: requested_by(),
        },
        Action::Reconcile => Job::Reconcile {
            requested_by: requested_by(),
        },
        Action::DiskCheck => Job::DiskCheck {
            requested_by: requested_by(),
        },
    };
    let kind = job.kind();
    let job_id = ctx.queue.push(job, Some(key)).await?;
    Ok(Fired {
        action: "schedule.fire",
        result: AuditResult::Accepted,
        target: key.to_owned(),
        detail: format!("scheduled {kind} job {job_id} enqueued"),
    })
}
