//! The disk check (guide §7.3, hourly): measures the backup filesystem,
//! logs at the level's severity, and acts once per change of level — a
//! mail, pruning of old automatic backups at ERROR, pausing automatic
//! backups at CRITICAL — with at most one reminder a day while it lasts.

use chrono::Utc;
use nexus_shared::alert::Alert;
use nexus_shared::alert::disk::decide;
use nexus_shared::catalog::{AuditEntry, AuditResult, AuditSource};
use nexus_shared::domain::DiskLevel;
use nexus_shared::fsutil;
use nexus_shared::service::relief::relieve;

use super::alert::raise;
use crate::JobContext;

pub async fn run(ctx: &JobContext, requested_by: String) -> anyhow::Result<String> {
    let settings = ctx.settings.clone();
    let (decision, usage, actions) = ctx
        .blocking(move |catalog| {
            fsutil::create_private_dir(&settings.backup_root)?;
            let usage = fsutil::disk_usage(&settings.backup_root)?;
            let previous = catalog.disk_state()?;
            let decision = decide(&previous, usage.used_percent, Utc::now(), &settings.alerts);
            let mut actions = Vec::new();
            if let Some(target) = decision.prune_to_percent {
                let deleted = relieve(catalog, &settings.backup_root, target)?;
                actions.push(format!(
                    "{} old automatic backup(s) deleted / 古い自動バックアップを {} 件削除: {}",
                    deleted.len(),
                    deleted.len(),
                    deleted
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            match (previous.automatic_paused, decision.state.automatic_paused) {
                (false, true) => {
                    actions.push("automatic backups paused / 自動バックアップを一時停止".into())
                }
                (true, false) => {
                    actions.push("automatic backups resumed / 自動バックアップを再開".into())
                }
                _ => {}
            }
            catalog.save_disk_state(&decision.state, usage.used_percent)?;
            Ok((decision, usage, actions))
        })
        .await?;

    let level = decision.state.level;
    let percent = usage.used_percent;
    match level {
        DiskLevel::Ok => tracing::info!(used_percent = percent, "disk check: OK"),
        DiskLevel::Warn => tracing::warn!(
            used_percent = percent,
            "WARN: backup storage is {percent:.1}% full"
        ),
        DiskLevel::Error => tracing::error!(
            used_percent = percent,
            "ERROR: backup storage is {percent:.1}% full"
        ),
        DiskLevel::Critical => tracing::error!(
            used_percent = percent,
            "CRITICAL: backup storage is {percent:.1}% full; automatic backups paused"
        ),
    }
    if let Some(reminder) = decision.notify {
        raise(
            ctx,
            Alert::DiskLevel {
                level,
                used_percent: percent,
                used_bytes: usage.used_bytes,
                total_bytes: usage.total_bytes,
                actions: actions.clone(),
                reminder,
                at: Utc::now(),
            },
        )
        .await;
    }
    if decision.notify.is_some() || !actions.is_empty() {
        let mut entry =
            AuditEntry::system(AuditSource::Worker, "storage.check", AuditResult::Success)
                .target(level.as_str())
                .detail(format!("{percent:.1}% used; {}", actions.join("; ")));
        entry.actor = requested_by;
        ctx.blocking(move |c| c.append_audit(&entry)).await?;
    }
    Ok(format!("disk {percent:.1}%: {}", level.as_str()))
}
