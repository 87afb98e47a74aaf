//! Mail alerts through a real SMTP server on loopback, and the disk levels
//! on a real small filesystem (SPEC §7, guide §7.3, §8.6).

use std::time::{Duration, Instant};

use nexus_e2e::reqwest::StatusCode;
use nexus_e2e::smtp::SmtpSink;
use nexus_e2e::tmpfs::Tmpfs;
use nexus_e2e::{TestApp, TestAppBuilder};
use serde_json::{Value, json};

fn with_mail(builder: TestAppBuilder, sink: &SmtpSink) -> TestAppBuilder {
    builder
        .env("SMTP_HOST", "127.0.0.1")
        .env("SMTP_PORT", &sink.port.to_string())
        .env("SMTP_TLS", "none")
        .env("SMTP_FROM", "nexus-backup@example.test")
        .env("NEXUS_ALERT_TO", "ops@example.test, oncall@example.test")
}

fn post(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let r = app
        .client()
        .post(app.url(path))
        .bearer_auth(token)
        .send()
        .unwrap();
    (r.status(), r.json().unwrap_or(Value::Null))
}

#[test]
fn the_test_mail_arrives_with_the_right_headers_and_names_its_recipients() {
    let sink = SmtpSink::start(None);
    let app = with_mail(TestApp::builder().without_worker(), &sink).spawn();
    let token = app.admin_token();

    let (status, body) = post(&app, &token, "/api/v1/notifications/test");

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["recipients"],
        json!(["ops@example.test", "oncall@example.test"])
    );
    let mail = &sink.wait_for(1, Duration::from_secs(10))[0];
    assert_eq!(mail["mail_from"], "nexus-backup@example.test");
    assert_eq!(
        mail["rcpt_tos"],
        json!(["ops@example.test", "oncall@example.test"])
    );
    assert_eq!(mail["subject"], "[Nexus Backup] テストメール / Test mail");
    assert!(mail["to"].as_str().unwrap().contains("oncall@example.test"));
    let text = mail["body"].as_str().unwrap();
    assert!(
        text.contains("テストメール") && text.contains("test mail from Nexus Backup"),
        "{text}"
    );
    assert!(text.contains("admin"));
}

#[test]
fn only_an_admin_may_send_a_test_mail_and_without_smtp_it_says_so() {
    let app = TestApp::builder().without_worker().spawn();
    let operator = app.token_for_new_user("op", nexus_shared::domain::Role::Operator);
    let (status, _) = post(&app, &operator, "/api/v1/notifications/test");
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, body) = post(&app, &app.admin_token(), "/api/v1/notifications/test");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "mail_not_configured");
}

#[test]
fn an_unreachable_smtp_server_gives_a_clear_error_within_seconds() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::builder()
        .without_worker()
        .env("SMTP_HOST", "127.0.0.1")
        .env("SMTP_PORT", &closed_port.to_string())
        .env("SMTP_TLS", "none")
        .env("NEXUS_ALERT_TO", "ops@example.test")
        .spawn();
    let token = app.admin_token();

    let started = Instant::now();
    let (status, body) = post(&app, &token, "/api/v1/notifications/test");

    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"], "smtp_error");
    assert_eq!(
        body["details"]["smtp_server"],
        format!("127.0.0.1:{closed_port}")
    );
    assert!(!body["details"]["reason"].as_str().unwrap().is_empty());
}

#[test]
fn a_refused_smtp_login_is_reported_with_what_the_server_said() {
    let sink = SmtpSink::start(Some("mailer:right-password"));
    let app = with_mail(TestApp::builder().without_worker(), &sink)
        .env("SMTP_USER", "mailer")
        .env("SMTP_PASSWORD", "wrong-password")
        .spawn();

    let (status, body) = post(&app, &app.admin_token(), "/api/v1/notifications/test");

    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"], "smtp_error");
    assert!(
        body["details"]["reason"].as_str().unwrap().contains("535"),
        "{body}"
    );
    assert!(sink.messages().is_empty());
    assert!(
        !body.to_string().contains("wrong-password"),
        "the password never shows"
    );
}

#[test]
fn a_failed_backup_sends_exactly_one_mail() {
    let sink = SmtpSink::start(None);
    let mut app = with_mail(TestApp::builder().without_worker(), &sink).spawn();
    let token = app.admin_token();
    let (_, accepted) = app.post_backup(&token, &json!({"type": "manual"}));
    let id = accepted["backup_id"].as_str().unwrap().to_owned();
    // The database disappears between the request and the job.
    std::fs::remove_file(&app.db_path).unwrap();
    app.start_worker();

    let done = app.wait_until_terminal(&token, &id, Duration::from_secs(60));
    assert_eq!(done["status"], "failure");
    assert_eq!(done["error"]["code"], "database_not_found");

    let mails = sink.wait_for(1, Duration::from_secs(20));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sink.messages().len(), 1, "exactly one mail: {mails:?}");
    assert!(mails[0]["subject"].as_str().unwrap().contains(&id));
    assert!(
        mails[0]["body"]
            .as_str()
            .unwrap()
            .contains("database_not_found")
    );
}

#[test]
fn each_disk_level_acts_once_pruning_spares_protected_backups_and_the_pause_lifts() {
    let sink = SmtpSink::start(None);
    let base = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&base.path().join("backups"), "64m");
    let app = with_mail(TestApp::builder().db_size_mb(1), &sink)
        .env("NEXUS_BACKUP_ROOT", disk.path().to_str().unwrap())
        .spawn();
    let token = app.admin_token();
    for kind in ["daily", "daily", "daily", "manual"] {
        let (_, b) = app.post_backup(&token, &json!({"type": kind}));
        let done = app.wait_until_terminal(
            &token,
            b["backup_id"].as_str().unwrap(),
            Duration::from_secs(60),
        );
        assert_eq!(done["status"], "success", "{done}");
    }
    let check = |expected_mails: usize| {
        let (status, _) = post(&app, &token, "/api/v1/storage/check");
        assert_eq!(status, StatusCode::ACCEPTED);
        std::thread::sleep(Duration::from_millis(1500));
        let mails = sink.wait_for(expected_mails, Duration::from_secs(20));
        assert_eq!(mails.len(), expected_mails, "{mails:#?}");
        mails
    };
    let storage = || app.get_json(&token, "/api/v1/storage").1;

    disk.fill_to(82.0);
    let mails = check(1);
    assert!(
        mails[0]["subject"].as_str().unwrap().contains("WARN"),
        "{}",
        mails[0]["subject"]
    );
    check(1); // the same level again: no second mail

    disk.fill_to(91.0);
    let mails = check(2);
    assert!(mails[1]["subject"].as_str().unwrap().contains("ERROR"));
    let (_, list) = app.get_json(&token, "/api/v1/backups?type=daily&status=success");
    assert_eq!(
        list["total"], 1,
        "old dailies pruned, the newest kept: {list}"
    );
    let (_, manual) = app.get_json(&token, "/api/v1/backups?type=manual");
    assert_eq!(manual["total"], 1, "manual backups are never pruned");

    disk.fill_to(96.0);
    let mails = check(3);
    assert!(mails[2]["subject"].as_str().unwrap().contains("CRITICAL"));
    assert!(mails[2]["subject"].as_str().unwrap().contains("【緊急】"));
    assert_eq!(storage()["automatic_paused"], true);
    assert_eq!(storage()["alert_level"], "critical");
    // A requested backup still runs, with a warning.
    let (status, accepted) = app.post_backup(&token, &json!({"type": "manual"}));
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["warning"]["code"], "storage_critical");
    let done = app.wait_until_terminal(
        &token,
        accepted["backup_id"].as_str().unwrap(),
        Duration::from_secs(60),
    );
    assert_eq!(done["status"], "success", "{done}");

    std::fs::remove_file(disk.path().join("filler")).unwrap();
    let mails = check(4);
    assert!(
        mails[3]["subject"].as_str().unwrap().contains("OK"),
        "recovery is mailed: {}",
        mails[3]["subject"]
    );
    let s = storage();
    assert_eq!(s["automatic_paused"], false);
    assert_eq!(s["alert_level"], "ok");
    assert_eq!(s["by_type"]["daily"]["count"], 1);
    assert_eq!(s["by_type"]["manual"]["count"], 2);
}
