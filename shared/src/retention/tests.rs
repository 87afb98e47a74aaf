//! The retention rules with fixed clocks, in Tokyo.

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Asia::Tokyo;

use super::*;

/// An instant given as Tokyo wall-clock time, `2026-01-31 05:00`.
fn tokyo(local: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
    Tokyo
        .from_local_datetime(&naive)
        .unwrap()
        .with_timezone(&Utc)
}

/// A record whose start time is the Tokyo time in its id.
fn record(id: &str, status: BackupStatus) -> BackupSummary {
    let id = BackupId::parse(id).unwrap();
    let started_at = Tokyo
        .from_local_datetime(&id.local_time())
        .unwrap()
        .with_timezone(&Utc);
    BackupSummary {
        id,
        status,
        started_at,
    }
}

fn ok(id: &str) -> BackupSummary {
    record(id, BackupStatus::Success)
}

/// Successful backups of `kind` at `hhmmss` on each date.
fn series(kind: &str, hhmmss: &str, dates: &[&str]) -> Vec<BackupSummary> {
    dates
        .iter()
        .map(|d| ok(&format!("BKP-{d}-{hhmmss}-{kind}")))
        .collect()
}

fn days(from: chrono::NaiveDate, n: u64) -> Vec<String> {
    (0..n)
        .map(|i| (from + Days::new(i)).format("%Y%m%d").to_string())
        .collect()
}

fn expired_ids(records: &[BackupSummary], now: &str, policy: &RetentionSettings) -> Vec<String> {
    expired(records, tokyo(now), policy, Tokyo)
        .into_iter()
        .map(|e| e.record.id.to_string())
        .collect()
}

fn date(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn daily_backups_older_than_seven_days_go_at_the_five_oclock_prune() {
    let dates = days(date("2026-01-20"), 12); // 20th … 31st
    let dates: Vec<&str> = dates.iter().map(String::as_str).collect();
    let records = series("daily", "020000", &dates);

    let gone = expired_ids(&records, "2026-01-31 05:00", &RetentionSettings::default());

    assert_eq!(
        gone,
        [
            "BKP-20260120-020000-daily",
            "BKP-20260121-020000-daily",
            "BKP-20260122-020000-daily",
            "BKP-20260123-020000-daily",
            "BKP-20260124-020000-daily",
        ],
        "seven remain: the 25th to the 31st"
    );
}

#[test]
fn a_0200_tokyo_backup_is_on_the_previous_utc_day_and_still_counts_from_its_own_time() {
    // 02:00 JST on the 24th is 17:00 UTC on the 23rd.
    let records = series("daily", "020000", &["20260124", "20260125"]);
    assert_eq!(
        records[0].started_at.to_rfc3339(),
        "2026-01-23T17:00:00+00:00"
    );
    let policy = RetentionSettings::default();

    // At 01:59 JST on the 31st (16:59 UTC on the 30th) it is not yet 7 days old…
    assert!(expired_ids(&records, "2026-01-31 01:59", &policy).is_empty());
    // …at 02:01 it is.
    assert_eq!(
        expired_ids(&records, "2026-01-31 02:01", &policy),
        ["BKP-20260124-020000-daily"]
    );
}

#[test]
fn twelve_months_count_on_the_tokyo_calendar_across_a_leap_day() {
    // Monthly backups at 04:00 JST on the 1st: 19:00 UTC on the last day of
    // the previous month. 1 March 2024 04:00 JST is 29 February in UTC.
    let records = series(
        "monthly",
        "040000",
        &["20240201", "20240301", "20240401", "20250301"],
    );
    let policy = RetentionSettings::default();

    // 1 March 2025 05:00 JST is still 28 February in UTC; twelve UTC months
    // back would be 29 February 2024 20:00 UTC and keep the March backup.
    // On the Tokyo calendar it is twelve months and one hour old.
    assert_eq!(
        expired_ids(&records, "2025-03-01 05:00", &policy),
        ["BKP-20240201-040000-monthly", "BKP-20240301-040000-monthly"]
    );
    // The day before, only February 2024 had expired.
    assert_eq!(
        expired_ids(&records, "2025-02-28 05:00", &policy),
        ["BKP-20240201-040000-monthly"]
    );
}

#[test]
fn a_month_back_from_a_31st_is_the_last_day_of_the_shorter_month() {
    let policy = RetentionSettings {
        monthly_months: 1,
        ..RetentionSettings::default()
    };
    let records = vec![
        ok("BKP-20260227-100000-monthly"),
        ok("BKP-20260228-100000-monthly"),
        ok("BKP-20260331-040000-monthly"),
    ];
    // 31 March minus one month is 28 February (no leap year) at 05:00.
    assert_eq!(
        policy
            .period(BackupType::Monthly)
            .unwrap()
            .cutoff(tokyo("2026-03-31 05:00"), Tokyo),
        tokyo("2026-02-28 05:00")
    );
    assert_eq!(
        expired_ids(&records, "2026-03-31 05:00", &policy),
        ["BKP-20260227-100000-monthly"]
    );
    // In 2024, a leap year, the same step lands on the 29th.
    assert_eq!(
        policy
            .period(BackupType::Monthly)
            .unwrap()
            .cutoff(tokyo("2024-03-31 05:00"), Tokyo),
        tokyo("2024-02-29 05:00")
    );
}

#[test]
fn seven_days_span_the_end_of_february_in_a_leap_year() {
    let dates = days(date("2024-02-22"), 11); // 22 Feb … 3 Mar
    let dates: Vec<&str> = dates.iter().map(String::as_str).collect();
    let records = series("daily", "020000", &dates);
    let gone = expired_ids(&records, "2024-03-03 05:00", &RetentionSettings::default());
    assert_eq!(
        gone,
        [
            "BKP-20240222-020000-daily",
            "BKP-20240223-020000-daily",
            "BKP-20240224-020000-daily",
            "BKP-20240225-020000-daily",
        ],
        "the 26th, 27th, 28th, 29th and 1st–3rd remain"
    );
}

#[test]
fn the_newest_backup_of_each_type_survives_however_old() {
    let records = vec![
        ok("BKP-20250105-030000-weekly"),
        ok("BKP-20250112-030000-weekly"),
        ok("BKP-20250101-020000-daily"),
        // A newer daily that failed has no file and protects nothing.
        record("BKP-20250102-020000-daily", BackupStatus::Failure),
    ];
    let gone = expired_ids(&records, "2026-06-01 05:00", &RetentionSettings::default());
    assert_eq!(
        gone,
        ["BKP-20250102-020000-daily", "BKP-20250105-030000-weekly"]
    );
}

#[test]
fn manual_before_restore_and_running_backups_never_expire() {
    let records = vec![
        ok("BKP-20200101-120000-manual"),
        ok("BKP-20200101-120000-before_restore"),
        record("BKP-20200101-020000-daily", BackupStatus::InProgress),
        ok("BKP-20260101-020000-daily"),
    ];
    assert!(expired_ids(&records, "2026-06-01 05:00", &RetentionSettings::default()).is_empty());
}

#[test]
fn at_least_one_backup_remains_whatever_the_clock_and_policy() {
    let records = vec![
        ok("BKP-20250101-020000-daily"),
        ok("BKP-20250102-020000-daily"),
        ok("BKP-20250105-030000-weekly"),
        ok("BKP-20250201-040000-monthly"),
    ];
    let strict = RetentionSettings {
        daily_days: 0,
        weekly_days: 0,
        monthly_months: 0,
    };
    for now in ["2025-02-01 05:00", "2030-01-01 00:00"] {
        let gone = expired_ids(&records, now, &strict);
        assert_eq!(gone, ["BKP-20250101-020000-daily"], "at {now}");
    }
}

#[test]
fn deleting_the_newest_daily_weekly_or_monthly_backup_is_refused() {
    let records = vec![
        ok("BKP-20260130-020000-daily"),
        ok("BKP-20260131-020000-daily"),
        ok("BKP-20260125-030000-weekly"),
        ok("BKP-20260101-040000-monthly"),
    ];
    for (id, t) in [
        ("BKP-20260131-020000-daily", BackupType::Daily),
        ("BKP-20260125-030000-weekly", BackupType::Weekly),
        ("BKP-20260101-040000-monthly", BackupType::Monthly),
    ] {
        let id = BackupId::parse(id).unwrap();
        assert_eq!(
            deletion_refusal(&records, &id),
            Some(Refusal::LatestOfType(t))
        );
    }
    let older = BackupId::parse("BKP-20260130-020000-daily").unwrap();
    assert_eq!(deletion_refusal(&records, &older), None);
}

#[test]
fn within_one_second_the_higher_sequence_is_the_newer() {
    let records = vec![
        ok("BKP-20260131-020000-daily"),
        ok("BKP-20260131-020000-daily-2"),
    ];
    let first = BackupId::parse("BKP-20260131-020000-daily").unwrap();
    let second = BackupId::parse("BKP-20260131-020000-daily-2").unwrap();
    assert_eq!(deletion_refusal(&records, &first), None);
    assert_eq!(
        deletion_refusal(&records, &second),
        Some(Refusal::LatestOfType(BackupType::Daily))
    );
}

#[test]
fn the_last_backup_cannot_be_deleted_but_manual_ones_are_not_otherwise_protected() {
    let manual = BackupId::parse("BKP-20260131-143025-manual").unwrap();
    let only_manual = vec![
        ok("BKP-20260131-143025-manual"),
        record("BKP-20260131-020000-daily", BackupStatus::Failure),
    ];
    assert_eq!(
        deletion_refusal(&only_manual, &manual),
        Some(Refusal::LastBackup)
    );

    let with_another = vec![
        ok("BKP-20260131-143025-manual"),
        ok("BKP-20260101-120000-manual"),
    ];
    assert_eq!(deletion_refusal(&with_another, &manual), None);
}

#[test]
fn running_backups_cannot_be_deleted_and_failed_records_always_can() {
    let records = vec![
        record("BKP-20260131-020000-daily", BackupStatus::InProgress),
        record("BKP-20260130-020000-daily", BackupStatus::Failure),
    ];
    let running = BackupId::parse("BKP-20260131-020000-daily").unwrap();
    let failed = BackupId::parse("BKP-20260130-020000-daily").unwrap();
    assert_eq!(
        deletion_refusal(&records, &running),
        Some(Refusal::InProgress)
    );
    assert_eq!(deletion_refusal(&records, &failed), None);
}
