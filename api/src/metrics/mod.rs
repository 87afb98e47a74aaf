//! The Prometheus text (format 0.0.4) that `GET /metrics` serves (SPEC §11),
//! made from one [`Scrape`]: what the catalog, the queue and the backup
//! filesystem said at that moment. Nothing is counted in this process, so
//! the figures are the same after a restart, and whichever process (worker,
//! CLI, scheduler) did the work.
//!
//! The `_total` figures count the finished records the catalog holds;
//! deleting a backup (by hand or by retention) removes its record and its
//! verifications, which Prometheus reads as a counter reset. The alert
//! rules in `deploy/prometheus/` therefore watch gauges (timestamps, the
//! backups whose latest verification failed), never `increase()` of these.

use std::fmt;

mod families;

use nexus_shared::catalog::Figures;
use nexus_shared::domain::DiskLevel;
use nexus_shared::domain::{BackupStatus, BackupType};
use nexus_shared::queue::JobCount;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Registry;

use families::{Labels, by_type, counters, gauges};

pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Everything one scrape reports.
#[derive(Debug)]
pub struct Scrape {
    pub figures: Figures,
    pub jobs: Vec<JobCount>,
    pub workers_alive: u64,
    /// Used share (0–1) of the backup filesystem; `None` when it could not be read.
    pub storage_used_ratio: Option<f64>,
    /// Continuous replication's recovery window, when there is one.
    pub replication: Option<Replication>,
}

/// What the replication folder says at scrape time.
#[derive(Debug, Clone, Copy)]
pub struct Replication {
    /// How far the newest instant it can restore to is behind now.
    pub lag_seconds: f64,
    /// Segments of the newest lineage.
    pub segments: u64,
    /// Bytes of bases and segments.
    pub bytes: u64,
}

/// The scrape in the Prometheus text format.
pub fn render(scrape: Scrape) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(scrape));
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
        .expect("writing to a String cannot fail");
    text
}

/// `nexus_backup_storage_level`'s value for each level.
pub fn level_value(level: DiskLevel) -> i64 {
    match level {
        DiskLevel::Ok => 0,
        DiskLevel::Warn => 1,
        DiskLevel::Error => 2,
        DiskLevel::Critical => 3,
    }
}

impl Collector for Scrape {
    fn encode(&self, mut out: DescriptorEncoder) -> fmt::Result {
        let f = &self.figures;
        let count_of = |t: BackupType, s: BackupStatus| {
            f.backups
                .iter()
                .find(|(bt, bs, _)| *bt == t && *bs == s)
                .map_or(0, |(_, _, n)| *n)
        };

        let last: Vec<(Labels, f64)> = f
            .newest_success
            .iter()
            .map(|(t, n)| (by_type(*t), n.completed_at.timestamp_micros() as f64 / 1e6))
            .collect();
        gauges(
            &mut out,
            "nexus_backup_last_success_timestamp_seconds",
            "When the newest successful backup of each type completed (Unix time)",
            &last,
        )?;

        let mut outcomes = Vec::new();
        for t in BackupType::ALL {
            for s in [BackupStatus::Success, BackupStatus::Failure] {
                let labels = vec![
                    ("type", t.as_str().to_owned()),
                    ("status", s.as_str().into()),
                ];
                outcomes.push((labels, count_of(t, s)));
            }
        }
        counters(
            &mut out,
            "nexus_backups",
            "Finished backups the catalog records, by type and outcome",
            &outcomes,
        )?;

        let running: Vec<(Labels, u64)> = BackupType::ALL
            .into_iter()
            .map(|t| (by_type(t), count_of(t, BackupStatus::InProgress)))
            .collect();
        gauges(
            &mut out,
            "nexus_backups_in_progress",
            "Backups requested or running, not finished yet",
            &running,
        )?;

        families::durations(
            &mut out,
            "nexus_backup_duration_seconds",
            "How long successful backups took, from request to completion, by type",
            &f.durations,
        )?;

        let sizes: Vec<(Labels, u64)> = f
            .newest_success
            .iter()
            .map(|(t, n)| (by_type(*t), n.file_size))
            .collect();
        gauges(
            &mut out,
            "nexus_backup_size_bytes",
            "Compressed size of the newest successful backup of each type",
            &sizes,
        )?;

        let v = &f.verifications;
        counters(
            &mut out,
            "nexus_verifications",
            "Finished integrity verifications, by result",
            &[
                (vec![("result", "pass".into())], v.pass),
                (vec![("result", "fail".into())], v.fail),
            ],
        )?;
        gauges(
            &mut out,
            "nexus_backups_failing_verification",
            "Backups whose latest integrity verification failed",
            &[(Labels::new(), v.backups_failing)],
        )?;

        let restores: Vec<(Labels, u64)> = [BackupStatus::Success, BackupStatus::Failure]
            .into_iter()
            .map(|s| {
                let n = f
                    .restores
                    .iter()
                    .find(|(rs, _)| *rs == s)
                    .map_or(0, |r| r.1);
                (vec![("status", s.as_str().to_owned())], n)
            })
            .collect();
        counters(
            &mut out,
            "nexus_restores",
            "Finished restores, by outcome",
            &restores,
        )?;

        let jobs: Vec<(Labels, u64)> = self
            .jobs
            .iter()
            .map(|j| {
                (
                    vec![("kind", j.kind.clone()), ("state", j.state.clone())],
                    j.jobs,
                )
            })
            .collect();
        gauges(
            &mut out,
            "nexus_queue_jobs",
            "Jobs in the queue, by kind and state (retrying: failed with attempts left)",
            &jobs,
        )?;
        gauges(
            &mut out,
            "nexus_workers_alive",
            "Worker processes whose heartbeat is recent",
            &[(Labels::new(), self.workers_alive)],
        )?;

        if let Some(ratio) = self.storage_used_ratio {
            gauges(
                &mut out,
                "nexus_backup_storage_used_ratio",
                "Used share of the backup filesystem, 0 to 1, read at scrape time",
                &[(Labels::new(), ratio)],
            )?;
        }
        gauges(
            &mut out,
            "nexus_backup_storage_level",
            "Level of the last disk check: 0 ok, 1 warn, 2 error, 3 critical",
            &[(Labels::new(), level_value(f.disk.level))],
        )?;
        gauges(
            &mut out,
            "nexus_backup_automatic_paused",
            "1 while the disk check keeps automatic backups paused (critical level)",
            &[(Labels::new(), i64::from(f.disk.automatic_paused))],
        )?;

        if let Some(r) = self.replication {
            gauges(
                &mut out,
                "nexus_replication_lag_seconds",
                "How far the newest instant continuous replication can restore to is behind now",
                &[(Labels::new(), r.lag_seconds)],
            )?;
            gauges(
                &mut out,
                "nexus_replication_segments",
                "Segments of the newest replication lineage",
                &[(Labels::new(), r.segments)],
            )?;
            gauges(
                &mut out,
                "nexus_replication_bytes",
                "Bytes of the replication folder (bases and segments)",
                &[(Labels::new(), r.bytes)],
            )?;
        }

        let offsite: Vec<(Labels, u64)> = f
            .offsite
            .iter()
            .map(|(s, n)| (vec![("state", s.as_str().to_owned())], *n))
            .collect();
        gauges(
            &mut out,
            "nexus_offsite_copies",
            "Offsite copies, by state",
            &offsite,
        )
    }
}
