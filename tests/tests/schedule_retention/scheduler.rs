//! The scheduler in the real worker: it enqueues, the worker runs, and a
//! slot gives one backup however many schedulers see it or restart.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use nexus_e2e::TestApp;
use nexus_e2e::reqwest::StatusCode;

use crate::{Scheduled, backup_files, jobs_keyed, only_daily, scheduled, wait_until};

const EVERY_2S: &str = "*/2 * * * * *";

/// Stops the schedulers' work from growing, lets a worker without a
/// scheduler finish what was enqueued, and returns the scheduled backups.
fn drain(app: &mut TestApp) -> Vec<Scheduled> {
    app.start_worker_with_args(&["--no-scheduler"]);
    wait_until("scheduled backups finish", Duration::from_secs(60), || {
        scheduled(app).iter().all(|s| s.status != "in_progress")
    });
    scheduled(app)
}

/// One record, one job and one file per slot, each backup a success.
fn assert_one_backup_per_slot(app: &TestApp, backups: &[Scheduled]) {
    for b in backups {
        assert_eq!(b.status, "success", "{b:?}");
        assert!(
            b.slot.starts_with("daily@") && b.slot.ends_with("+09:00"),
            "{b:?}"
        );
    }
    let files = backup_files(app, "daily");
    assert_eq!(
        files.len(),
        backups.len(),
        "one file per slot: {files:?} for {backups:?}"
    );
    assert_eq!(
        jobs_keyed(app, "daily@"),
        backups.len() as i64,
        "one job per slot"
    );
}

#[test]
fn two_schedulers_at_once_give_one_backup_per_slot_and_the_worker_runs_them() {
    let mut app = only_daily(TestApp::builder().db_size_mb(1).without_worker(), EVERY_2S).spawn();
    app.start_worker();
    let second = app.spawn_worker(&[]);

    wait_until("four slots recorded", Duration::from_secs(30), || {
        scheduled(&app).len() >= 4
    });
    second.stop();
    app.stop_worker();
    let backups = drain(&mut app);

    assert_one_backup_per_slot(&app, &backups);
    for pair in backups.windows(2) {
        assert_eq!(
            pair[1].time() - pair[0].time(),
            TimeDelta::seconds(2),
            "consecutive slots, none doubled or skipped: {pair:?}"
        );
    }
    let token = app.admin_token();
    let first = app.get_backup(&token, &backups[0].backup_id);
    assert_eq!(first["created_by"]["username"], "scheduler");
    assert_eq!(first["created_by"]["id"], serde_json::Value::Null);
    assert_eq!(first["backup_type"], "daily");
}

#[test]
fn a_scheduler_killed_right_after_a_slot_and_restarted_does_not_repeat_it() {
    let mut app = only_daily(TestApp::builder().db_size_mb(1).without_worker(), EVERY_2S).spawn();
    app.start_worker();
    wait_until("a first slot", Duration::from_secs(30), || {
        !scheduled(&app).is_empty()
    });
    let before = scheduled(&app).len();
    wait_until("the next slot", Duration::from_secs(30), || {
        scheduled(&app).len() > before
    });

    app.kill_worker(); // as soon as the slot's record exists: maybe before its job
    app.start_worker();
    let restarted_with = scheduled(&app).len();
    wait_until("two more slots", Duration::from_secs(30), || {
        scheduled(&app).len() >= restarted_with + 2
    });
    app.stop_worker();
    let backups = drain(&mut app);

    assert_one_backup_per_slot(&app, &backups);
}

#[test]
fn a_slot_missed_while_down_is_caught_up_once_at_start_up() {
    // The guide's daily schedule; the worker was last up three days ago.
    let mut app = only_daily(
        TestApp::builder().db_size_mb(1).without_worker(),
        "0 2 * * *",
    )
    .spawn();
    let three_days_ago = Utc::now() - TimeDelta::days(3);
    app.catalog()
        .record_schedule_fired("daily", three_days_ago)
        .unwrap();

    app.start_worker();
    wait_until("the catch-up backup", Duration::from_secs(30), || {
        scheduled(&app).iter().any(|s| s.status == "success")
    });
    std::thread::sleep(Duration::from_secs(1));

    let backups = scheduled(&app);
    assert_eq!(
        backups.len(),
        1,
        "three missed slots, one catch-up: {backups:?}"
    );
    let tokyo = nexus_shared::settings::Settings::default().tz();
    let slot = backups[0].time().with_timezone(&tokyo);
    assert_eq!(slot.format("%H:%M:%S").to_string(), "02:00:00");
    assert!(
        Utc::now() - backups[0].time() < TimeDelta::days(1),
        "the latest missed slot"
    );

    let token = app.admin_token();
    let (status, body) = app.get_json(&token, "/api/v1/schedules");
    assert_eq!(status, StatusCode::OK, "{body}");
    let daily = body["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "daily")
        .unwrap();
    assert_eq!(daily["cron"], "0 2 * * *");
    assert_eq!(daily["timezone"], "Asia/Tokyo");
    assert_eq!(
        daily["last_run"],
        backups[0].slot.split_once('@').unwrap().1
    );
    let next = daily["next_run"].as_str().unwrap();
    assert!(next.ends_with("T02:00:00+09:00"), "{next}");
}

#[test]
fn with_catch_up_off_a_missed_slot_stays_missed() {
    let mut app = only_daily(
        TestApp::builder().db_size_mb(1).without_worker(),
        "0 2 * * *",
    )
    .env("NEXUS_SCHEDULE_CATCH_UP", "false")
    .spawn();
    app.catalog()
        .record_schedule_fired("daily", Utc::now() - TimeDelta::days(3))
        .unwrap();

    app.start_worker();
    // The positive sign that the scheduler ran its start-up and decided.
    wait_until(
        "the scheduler's catch-up decision",
        Duration::from_secs(30),
        || app.logs().contains("catch-up is off"),
    );

    assert!(scheduled(&app).is_empty(), "{:?}", scheduled(&app));
}

#[test]
fn scheduled_backups_are_skipped_while_the_disk_check_has_paused_them() {
    let mut app = only_daily(TestApp::builder().db_size_mb(1).without_worker(), EVERY_2S).spawn();
    let critical = nexus_shared::domain::DiskState {
        level: nexus_shared::domain::DiskLevel::Critical,
        automatic_paused: true,
        last_notified_at: None,
    };
    app.catalog().save_disk_state(&critical, 96.0).unwrap();

    app.start_worker();
    let catalog = app.catalog();
    wait_until(
        "a skipped slot in the audit trail",
        Duration::from_secs(30),
        || {
            catalog.list_audit(50, 0).unwrap().iter().any(|a| {
                a.action == "backup.create" && a.actor == "scheduler" && a.result == "failure"
            })
        },
    );

    assert!(scheduled(&app).is_empty());
    assert!(backup_files(&app, "daily").is_empty());
}
