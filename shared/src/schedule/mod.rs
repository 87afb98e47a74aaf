//! What runs when (SPEC §2): the schedules, their cron expressions, and the
//! slots they fire for. Pure: the worker's scheduler does the firing.
//!
//! A *slot* is one firing time of a schedule. Its key, e.g.
//! `daily@2026-01-31T02:00:00+09:00`, is the idempotency key of the job it
//! enqueues and the `schedule_slot` of the backup record it creates, so a
//! slot yields one job and one backup however many schedulers see it.

mod expr;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::BackupType;
pub use expr::{CronExpr, InvalidCron};

/// A schedule's trigger: a cron expression, or `off`.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    Off,
    Cron(CronExpr),
}

impl Trigger {
    fn cron(expression: &str) -> Trigger {
        Trigger::Cron(CronExpr::parse(expression).expect("a valid built-in expression"))
    }

    pub fn as_cron(&self) -> Option<&CronExpr> {
        match self {
            Trigger::Off => None,
            Trigger::Cron(c) => Some(c),
        }
    }
}

impl FromStr for Trigger {
    type Err = InvalidCron;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "off" => Ok(Trigger::Off),
            other => CronExpr::parse(other).map(Trigger::Cron),
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Off => f.write_str("off"),
            Trigger::Cron(c) => c.fmt(f),
        }
    }
}

impl Serialize for Trigger {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Trigger {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The `[schedule]` section of the configuration. Times are in the
/// configured timezone (`NEXUS_TZ`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleSettings {
    /// At start-up, run the latest slot of each schedule missed while the
    /// service was down (once, however many were missed).
    pub catch_up: bool,
    pub daily: Trigger,
    pub weekly: Trigger,
    pub monthly: Trigger,
    pub verify_all: Trigger,
    pub prune_daily: Trigger,
    pub prune_weekly: Trigger,
    pub prune_monthly: Trigger,
    pub reconcile: Trigger,
    /// The backup filesystem's usage (guide §7.3).
    pub disk_check: Trigger,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        ScheduleSettings {
            catch_up: true,
            daily: Trigger::cron("0 2 * * *"),
            weekly: Trigger::cron("0 3 * * 0"),
            monthly: Trigger::cron("0 4 1 * *"),
            verify_all: Trigger::cron("0 1 * * 6"),
            prune_daily: Trigger::cron("0 5 * * *"),
            prune_weekly: Trigger::cron("0 5 * * 1"),
            prune_monthly: Trigger::cron("0 5 2 * *"),
            reconcile: Trigger::cron("30 5 * * *"),
            disk_check: Trigger::cron("0 * * * *"),
        }
    }
}

/// What a schedule enqueues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Backup(BackupType),
    VerifyAll,
    /// Removes the expired backups of one type (SPEC §2 retention).
    Prune(BackupType),
    Reconcile,
    DiskCheck,
}

impl Action {
    /// `backup`, `verify_all`, `prune` or `reconcile`.
    pub fn kind(self) -> &'static str {
        match self {
            Action::Backup(_) => "backup",
            Action::VerifyAll => "verify_all",
            Action::Prune(_) => "prune",
            Action::Reconcile => "reconcile",
            Action::DiskCheck => "disk_check",
        }
    }

    /// The backup type it concerns, if any.
    pub fn backup_type(self) -> Option<BackupType> {
        match self {
            Action::Backup(t) | Action::Prune(t) => Some(t),
            Action::VerifyAll | Action::Reconcile | Action::DiskCheck => None,
        }
    }
}

/// One configured schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Also the configuration key and the first half of slot keys.
    pub name: &'static str,
    pub action: Action,
    pub trigger: Trigger,
}

impl Schedule {
    /// Every schedule of the configuration, the ones turned off included.
    pub fn all(settings: &ScheduleSettings) -> Vec<Schedule> {
        use Action::*;
        use BackupType::*;
        let s = settings;
        [
            ("daily", Backup(Daily), &s.daily),
            ("weekly", Backup(Weekly), &s.weekly),
            ("monthly", Backup(Monthly), &s.monthly),
            ("verify_all", VerifyAll, &s.verify_all),
            ("prune_daily", Prune(Daily), &s.prune_daily),
            ("prune_weekly", Prune(Weekly), &s.prune_weekly),
            ("prune_monthly", Prune(Monthly), &s.prune_monthly),
            ("reconcile", Reconcile, &s.reconcile),
            ("disk_check", DiskCheck, &s.disk_check),
        ]
        .into_iter()
        .map(|(name, action, trigger)| Schedule {
            name,
            action,
            trigger: trigger.clone(),
        })
        .collect()
    }

    /// The next firing after `now`, or `None` when the schedule is off.
    pub fn next_run(&self, now: DateTime<Utc>, tz: Tz) -> Option<DateTime<Tz>> {
        self.trigger.as_cron()?.next_after(now, tz)
    }

    /// The slot to catch up at start-up: the latest firing after `since`
    /// (the last slot fired, or when the schedule became known) and at or
    /// before `now`. One slot however many were missed.
    pub fn missed_slot(
        &self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        tz: Tz,
    ) -> Option<DateTime<Tz>> {
        self.trigger
            .as_cron()?
            .latest_at_or_before(now, tz)
            .filter(|slot| *slot > since)
    }

    /// `daily@2026-01-31T02:00:00+09:00`
    pub fn slot_key(&self, slot: DateTime<Tz>) -> String {
        format!(
            "{}@{}",
            self.name,
            slot.to_rfc3339_opts(SecondsFormat::Secs, false)
        )
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use chrono_tz::Asia::Tokyo;

    use super::*;

    fn tokyo(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Tokyo
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn daily() -> Schedule {
        Schedule::all(&ScheduleSettings::default()).remove(0)
    }

    #[test]
    fn a_slot_key_names_the_schedule_and_the_local_time_with_its_offset() {
        let slot = tokyo(2026, 1, 31, 2, 0).with_timezone(&Tokyo);
        assert_eq!(daily().slot_key(slot), "daily@2026-01-31T02:00:00+09:00");
    }

    #[test]
    fn a_long_outage_catches_up_only_the_latest_missed_slot() {
        let down_since = tokyo(2026, 1, 27, 1, 0);
        let back_at = tokyo(2026, 1, 31, 9, 30);
        let slot = daily().missed_slot(down_since, back_at, Tokyo).unwrap();
        assert_eq!(slot.with_timezone(&Utc), tokyo(2026, 1, 31, 2, 0));
    }

    #[test]
    fn nothing_is_caught_up_when_the_last_slot_already_fired() {
        let fired = tokyo(2026, 1, 31, 2, 0);
        let now = tokyo(2026, 1, 31, 23, 59);
        assert_eq!(daily().missed_slot(fired, now, Tokyo), None);
        let off = Schedule {
            trigger: Trigger::Off,
            ..daily()
        };
        assert_eq!(
            off.missed_slot(fired, now + chrono::TimeDelta::days(3), Tokyo),
            None
        );
        assert_eq!(off.next_run(now, Tokyo), None);
    }

    #[test]
    fn the_defaults_are_the_guides_schedules() {
        let all = Schedule::all(&ScheduleSettings::default());
        let text: Vec<String> = all
            .iter()
            .map(|s| format!("{} {}", s.name, s.trigger))
            .collect();
        assert_eq!(
            text,
            [
                "daily 0 2 * * *",
                "weekly 0 3 * * 0",
                "monthly 0 4 1 * *",
                "verify_all 0 1 * * 6",
                "prune_daily 0 5 * * *",
                "prune_weekly 0 5 * * 1",
                "prune_monthly 0 5 2 * *",
                "reconcile 30 5 * * *",
                "disk_check 0 * * * *",
            ]
        );
    }

    #[test]
    fn schedules_and_retention_come_from_the_file_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("nexus-backup.toml"),
            "[schedule]\ndaily = \"0 1 * * *\"\ncatch_up = false\n[retention]\nweekly_days = 35\n",
        )
        .unwrap();
        let env: std::collections::HashMap<String, String> = [
            ("NEXUS_SCHEDULE_WEEKLY", "*/2 * * * * *"),
            ("NEXUS_SCHEDULE_RECONCILE", "off"),
            ("NEXUS_RETENTION_DAILY_DAYS", "3"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
        let s = crate::settings::Settings::load_from(&env, dir.path()).unwrap();
        assert_eq!(s.schedule.daily.to_string(), "0 1 * * *");
        assert!(!s.schedule.catch_up);
        assert_eq!(s.schedule.weekly.to_string(), "*/2 * * * * *");
        assert_eq!(s.schedule.reconcile, Trigger::Off);
        assert_eq!(s.schedule.monthly, ScheduleSettings::default().monthly);
        assert_eq!((s.retention.daily_days, s.retention.weekly_days), (3, 35));

        let bad: std::collections::HashMap<String, String> =
            [("NEXUS_SCHEDULE_DAILY".to_owned(), "0 25 * * *".to_owned())].into();
        let err = crate::settings::Settings::load_from(&bad, dir.path()).unwrap_err();
        assert!(err.to_string().contains("NEXUS_SCHEDULE_DAILY"), "{err}");
    }

    #[test]
    fn off_turns_a_schedule_off_and_anything_else_must_be_cron() {
        assert_eq!("off".parse::<Trigger>().unwrap(), Trigger::Off);
        assert!("never".parse::<Trigger>().is_err());
        let t: Trigger = "*/2 * * * * *".parse().unwrap();
        assert_eq!(t.to_string(), "*/2 * * * * *");
    }
}
