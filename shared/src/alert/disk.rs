//! Disk usage levels of the backup filesystem (guide §7.3) and what to do
//! at each check: a pure decision over the previous state, so restarts and
//! hourly checks never send a storm of mails.

use chrono::{DateTime, Utc};

use crate::domain::{DiskLevel, DiskState};
use crate::settings::AlertSettings;

/// The level of a filesystem `percent` full under these thresholds.
pub fn level_for(percent: f64, s: &AlertSettings) -> DiskLevel {
    if percent >= s.critical_percent {
        DiskLevel::Critical
    } else if percent >= s.error_percent {
        DiskLevel::Error
    } else if percent >= s.warn_percent {
        DiskLevel::Warn
    } else {
        DiskLevel::Ok
    }
}

/// What the alert mails say at each level.
pub(super) trait LevelTexts {
    fn subject_prefix_ja(self) -> &'static str;
    fn advice_ja(self) -> &'static str;
    fn advice_en(self) -> &'static str;
}

impl LevelTexts for DiskLevel {
    fn subject_prefix_ja(self) -> &'static str {
        match self {
            DiskLevel::Critical => "【緊急】",
            DiskLevel::Error => "【エラー】",
            DiskLevel::Warn => "【警告】",
            DiskLevel::Ok => "【回復】",
        }
    }

    fn advice_ja(self) -> &'static str {
        match self {
            DiskLevel::Critical => {
                "自動バックアップを一時停止しました。不要なバックアップを削除するか、ストレージを拡張してください。"
            }
            DiskLevel::Error => {
                "古い自動バックアップを削除しました。不要な手動バックアップの削除、またはストレージの拡張を検討してください。"
            }
            DiskLevel::Warn => {
                "不要なバックアップの削除、またはストレージの拡張を計画してください。"
            }
            DiskLevel::Ok => "対応は不要です。",
        }
    }

    fn advice_en(self) -> &'static str {
        match self {
            DiskLevel::Critical => {
                "Automatic backups are paused. Delete backups you no longer need or extend the storage."
            }
            DiskLevel::Error => {
                "Old automatic backups were pruned. Consider deleting manual backups you no longer need, or extending the storage."
            }
            DiskLevel::Warn => {
                "Plan to delete backups you no longer need, or to extend the storage."
            }
            DiskLevel::Ok => "Nothing to do.",
        }
    }
}

/// What one check decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub state: DiskState,
    /// Send a mail; `Some(true)` is a reminder of an unchanged level.
    pub notify: Option<bool>,
    /// Prune old automatic backups until usage is under this percent.
    pub prune_to_percent: Option<f64>,
}

pub fn decide(
    previous: &DiskState,
    used_percent: f64,
    now: DateTime<Utc>,
    s: &AlertSettings,
) -> Decision {
    let level = level_for(used_percent, s);
    let changed = level != previous.level;
    let reminder_due = level != DiskLevel::Ok
        && previous
            .last_notified_at
            .is_none_or(|t| now - t >= chrono::Duration::hours(s.reminder_hours as i64));
    let notify = if changed {
        // Falling back to OK from WARN is not worth a mail; from worse it is.
        (level != DiskLevel::Ok || previous.level >= DiskLevel::Error).then_some(false)
    } else if reminder_due {
        Some(true)
    } else {
        None
    };
    let automatic_paused = match level {
        DiskLevel::Critical => true,
        _ => previous.automatic_paused && used_percent >= s.resume_percent,
    };
    let prune_to_percent = (changed && level >= DiskLevel::Error).then_some(s.prune_target_percent);
    Decision {
        state: DiskState {
            level,
            automatic_paused,
            last_notified_at: if notify.is_some() {
                Some(now)
            } else {
                previous.last_notified_at
            },
        },
        notify,
        prune_to_percent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-31T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::hours(hours)
    }

    /// Runs a series of hourly checks, returning what each decided.
    fn run(percents: &[f64]) -> Vec<Decision> {
        let s = AlertSettings::default();
        let mut state = DiskState::default();
        percents
            .iter()
            .enumerate()
            .map(|(hour, p)| {
                let d = decide(&state, *p, at(hour as i64), &s);
                state = d.state.clone();
                d
            })
            .collect()
    }

    #[test]
    fn each_threshold_maps_to_its_level() {
        let s = AlertSettings::default();
        assert_eq!(level_for(79.9, &s), DiskLevel::Ok);
        assert_eq!(level_for(80.0, &s), DiskLevel::Warn);
        assert_eq!(level_for(90.0, &s), DiskLevel::Error);
        assert_eq!(level_for(95.0, &s), DiskLevel::Critical);
    }

    #[test]
    fn a_level_is_mailed_once_when_it_changes_not_at_every_check() {
        let d = run(&[50.0, 81.0, 82.0, 83.0, 91.0, 91.5]);
        let notified: Vec<_> = d.iter().map(|d| d.notify).collect();
        assert_eq!(notified, [None, Some(false), None, None, Some(false), None]);
    }

    #[test]
    fn a_lasting_level_gets_one_reminder_a_day() {
        let d = run(&[85.0; 50]);
        let reminders: Vec<usize> = d
            .iter()
            .enumerate()
            .filter(|(_, d)| d.notify == Some(true))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(d[0].notify, Some(false));
        assert_eq!(reminders, [24, 48]);
    }

    #[test]
    fn pruning_happens_on_entering_error_or_critical_only() {
        let d = run(&[91.0, 92.0, 96.0, 96.0, 91.0]);
        let pruned: Vec<_> = d.iter().map(|d| d.prune_to_percent.is_some()).collect();
        assert_eq!(pruned, [true, false, true, false, true]);
        assert_eq!(d[0].prune_to_percent, Some(85.0));
    }

    #[test]
    fn automatic_backups_pause_at_critical_and_resume_only_under_the_resume_mark() {
        let d = run(&[96.0, 93.0, 91.0, 89.0, 91.0]);
        let paused: Vec<_> = d.iter().map(|d| d.state.automatic_paused).collect();
        assert_eq!(paused, [true, true, true, false, false]);
    }

    #[test]
    fn recovery_from_error_is_mailed_but_from_warn_it_is_not() {
        assert_eq!(run(&[91.0, 50.0])[1].notify, Some(false));
        assert_eq!(run(&[81.0, 50.0])[1].notify, None);
    }
}
