//! Retention and deletion rules (SPEC §2, §5), as pure functions of the
//! records, the clock and the policy, so they can be tested with fixed
//! clocks and shared by the prune job, the API and the CLI.
//!
//! Rules:
//! - daily, weekly and monthly backups expire after their retention
//!   period, counted in the configured timezone's calendar (12 months
//!   from 31 March is the last day of February); manual and before_restore
//!   backups never expire;
//! - the newest successful backup of each type is never pruned, and of the
//!   daily, weekly and monthly types never deleted (the guide's §6.1 names
//!   those three; manual and before_restore fall under the next rule only);
//! - the last successful backup is never deleted;
//! - a backup still in progress is never deleted.
//!
//! Only successful records are backups here: a failed record has no file
//! and may always go.

use std::fmt;

use chrono::{DateTime, Days, Months, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::domain::{BackupId, BackupStatus, BackupType};

/// The `[retention]` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionSettings {
    pub daily_days: u32,
    pub weekly_days: u32,
    pub monthly_months: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            daily_days: 7,
            weekly_days: 28,
            monthly_months: 12,
        }
    }
}

/// How long backups of one type are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Days(u32),
    Months(u32),
}

impl RetentionSettings {
    /// `None` for the types kept until someone deletes them.
    pub fn period(&self, backup_type: BackupType) -> Option<Period> {
        match backup_type {
            BackupType::Daily => Some(Period::Days(self.daily_days)),
            BackupType::Weekly => Some(Period::Days(self.weekly_days)),
            BackupType::Monthly => Some(Period::Months(self.monthly_months)),
            BackupType::Manual | BackupType::BeforeRestore => None,
        }
    }
}

impl Period {
    /// Backups started before this instant have expired at `now`: `now`
    /// minus the period on the local calendar of `tz`.
    pub fn cutoff(self, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let local = now.with_timezone(&tz).naive_local();
        let back = match self {
            Period::Days(n) => local.checked_sub_days(Days::new(n.into())),
            Period::Months(n) => local.checked_sub_months(Months::new(n)),
        }
        .unwrap_or(NaiveDateTime::MIN);
        // A local time a clock change skipped: take the hour after.
        tz.from_local_datetime(&back)
            .earliest()
            .or_else(|| {
                tz.from_local_datetime(&(back + TimeDelta::hours(1)))
                    .earliest()
            })
            .map_or_else(|| back.and_utc(), |t| t.with_timezone(&Utc))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Days(n) => write!(f, "{n} days"),
            Period::Months(n) => write!(f, "{n} months"),
        }
    }
}

/// What the rules need to know of a backup record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub id: BackupId,
    pub status: BackupStatus,
    pub started_at: DateTime<Utc>,
}

impl BackupSummary {
    fn is_backup(&self) -> bool {
        self.status == BackupStatus::Success
    }

    fn age_key(&self) -> (DateTime<Utc>, u32) {
        (self.started_at, self.id.sequence())
    }
}

/// Why a deletion is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    InProgress,
    /// The newest successful daily, weekly or monthly backup.
    LatestOfType(BackupType),
    /// No other successful backup would remain.
    LastBackup,
}

impl Refusal {
    /// The API's error code for it.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::InProgress => "backup_in_progress",
            Refusal::LatestOfType(_) => "latest_backup_protected",
            Refusal::LastBackup => "last_backup_protected",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::InProgress => f.write_str("the backup is still in progress"),
            Refusal::LatestOfType(t) => write!(f, "it is the newest {t} backup"),
            Refusal::LastBackup => f.write_str("it is the last backup"),
        }
    }
}

/// The newest successful backup of `backup_type`.
fn newest_of(records: &[BackupSummary], backup_type: BackupType) -> Option<&BackupId> {
    records
        .iter()
        .filter(|r| r.is_backup() && r.id.backup_type() == backup_type)
        .max_by_key(|r| r.age_key())
        .map(|r| &r.id)
}

/// Whether deleting `target` breaks a rule. `records` are all the
/// backup records (`target` among them).
pub fn deletion_refusal(records: &[BackupSummary], target: &BackupId) -> Option<Refusal> {
    let record = records.iter().find(|r| &r.id == target)?;
    let backup_type = target.backup_type();
    if record.status == BackupStatus::InProgress {
        return Some(Refusal::InProgress);
    }
    if !record.is_backup() {
        return None;
    }
    let guarded = matches!(
        backup_type,
        BackupType::Daily | BackupType::Weekly | BackupType::Monthly
    );
    if guarded && newest_of(records, backup_type) == Some(target) {
        return Some(Refusal::LatestOfType(backup_type));
    }
    if !records.iter().any(|r| r.is_backup() && &r.id != target) {
        return Some(Refusal::LastBackup);
    }
    None
}

/// A record the prune removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    pub record: BackupSummary,
    pub period: Period,
    /// Records started before this had expired.
    pub cutoff: DateTime<Utc>,
}

/// The records expired at `now` under `policy`, oldest first. Never the
/// newest successful backup of a type, never one in progress, never a
/// manual or before_restore one; so at least one backup always remains.
pub fn expired(
    records: &[BackupSummary],
    now: DateTime<Utc>,
    policy: &RetentionSettings,
    tz: Tz,
) -> Vec<Expired> {
    let mut out: Vec<Expired> = records
        .iter()
        .filter(|r| r.status != BackupStatus::InProgress)
        .filter_map(|r| {
            let backup_type = r.id.backup_type();
            let period = policy.period(backup_type)?;
            let cutoff = period.cutoff(now, tz);
            let newest = newest_of(records, backup_type) == Some(&r.id);
            (r.started_at < cutoff && !newest).then(|| Expired {
                record: r.clone(),
                period,
                cutoff,
            })
        })
        .collect();
    out.sort_by_key(|e| e.record.age_key());
    out
}

#[cfg(test)]
mod tests;
