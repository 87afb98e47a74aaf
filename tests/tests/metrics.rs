//! `GET /metrics` (SPEC §11) against the real processes: `promtool` accepts
//! the scrape, its figures are the catalog's and the queue's, it lets in a
//! signed-in user or the metrics token and nobody else, and the Grafana
//! dashboard and the alert rules ask only for metrics it serves.

use std::collections::BTreeSet;
use std::time::Duration;

use nexus_e2e::TestApp;
use nexus_e2e::prom::{self, Sample, value};
use nexus_e2e::reqwest::StatusCode;
use nexus_e2e::reqwest::header::CONTENT_TYPE;
use nexus_shared::domain::Role;
use serde_json::{Value, json};

const METRICS_TOKEN: &str = "metrics-token-for-the-tests-0123";

fn app_with_metrics_token() -> nexus_e2e::TestAppBuilder {
    TestApp::builder().env("NEXUS_METRICS_TOKEN", METRICS_TOKEN)
}

/// `GET /metrics` with this bearer token (none: no header).
fn scrape(app: &TestApp, token: Option<&str>) -> (StatusCode, String, String) {
    let mut req = app.client().get(app.url("/metrics"));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let r = req.send().expect("scrape");
    let content_type = r
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status(), content_type, r.text().unwrap())
}

/// A scrape that `promtool check metrics` accepts, as samples.
fn checked_scrape(app: &TestApp) -> Vec<Sample> {
    let (status, content_type, text) = scrape(app, Some(METRICS_TOKEN));
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let (ok, said) = prom::run_promtool(&["check", "metrics"], &text);
    assert!(
        ok,
        "promtool check metrics refused the scrape: {said}\n{text}"
    );
    prom::parse(&text)
}

fn backup(app: &TestApp, token: &str, backup_type: &str) -> String {
    let (status, body) = app.post_backup(token, &json!({ "type": backup_type }));
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body["backup_id"].as_str().unwrap().to_owned()
}

/// Verifies `id` and waits for the result.
fn verify(app: &TestApp, token: &str, id: &str) -> Value {
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/backups/{id}/verify")))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let check_id = r.json::<Value>().unwrap()["check_id"].clone();
    let (limit, every) = (Duration::from_secs(60), Duration::from_millis(50));
    app.eventually("the verification to finish", limit, every, || {
        let (_, body) = app.get_json(token, &format!("/api/v1/backups/{id}/verifications"));
        body["verifications"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["check_id"] == check_id && v["status"] != "in_progress")
            .cloned()
            .ok_or_else(|| body.to_string())
    })
}

fn unix_seconds(rfc3339: &Value) -> f64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339.as_str().unwrap())
        .unwrap()
        .timestamp() as f64
}

#[test]
fn the_scrape_tells_what_the_catalog_and_the_queue_hold() {
    let mut app = app_with_metrics_token().spawn();
    let token = app.admin_token();
    let id = backup(&app, &token, "daily");
    let good = app.wait_until_terminal(&token, &id, Duration::from_secs(60));
    assert_eq!(good["status"], "success", "{good}");
    assert_eq!(verify(&app, &token, &id)["status"], "pass");
    // A second daily backup fails: the database is gone when its job runs.
    app.stop_worker();
    let failing = backup(&app, &token, "daily");
    let moved = app.dir.path().join("moved-away.db");
    std::fs::rename(&app.db_path, &moved).unwrap();
    app.start_worker();
    let bad = app.wait_until_terminal(&token, &failing, Duration::from_secs(60));
    assert_eq!(bad["status"], "failure", "{bad}");
    std::fs::rename(&moved, &app.db_path).unwrap();

    let samples = checked_scrape(&app);

    let daily = [("type", "daily")];
    assert_eq!(
        value(
            &samples,
            "nexus_backup_last_success_timestamp_seconds",
            &daily
        )
        .floor(),
        unix_seconds(&good["completed_at"]),
        "the newest success is the good backup's completed_at"
    );
    for (t, status, n) in [
        ("daily", "success", 1.0),
        ("daily", "failure", 1.0),
        ("manual", "success", 0.0),
        ("weekly", "failure", 0.0),
    ] {
        let labels = [("type", t), ("status", status)];
        assert_eq!(
            value(&samples, "nexus_backups_total", &labels),
            n,
            "{t} {status}"
        );
    }
    assert_eq!(value(&samples, "nexus_backups_in_progress", &daily), 0.0);
    assert_eq!(
        value(&samples, "nexus_backup_size_bytes", &daily),
        good["file_size"].as_f64().unwrap()
    );
    assert_eq!(
        value(&samples, "nexus_backup_duration_seconds_count", &daily),
        1.0
    );
    let took = value(&samples, "nexus_backup_duration_seconds_sum", &daily);
    let expected = unix_seconds(&good["completed_at"]) - unix_seconds(&good["started_at"]);
    assert!(
        (took - expected).abs() <= 1.0,
        "{took} s, the API says {expected} s"
    );
    let inf = [("type", "daily"), ("le", "+Inf")];
    assert_eq!(
        value(&samples, "nexus_backup_duration_seconds_bucket", &inf),
        1.0
    );
    assert_eq!(
        value(&samples, "nexus_verifications_total", &[("result", "pass")]),
        1.0
    );
    assert_eq!(
        value(&samples, "nexus_verifications_total", &[("result", "fail")]),
        0.0
    );
    assert_eq!(
        value(&samples, "nexus_backups_failing_verification", &[]),
        0.0
    );
    assert_eq!(
        value(&samples, "nexus_restores_total", &[("status", "success")]),
        0.0
    );
    let done_backups = [("kind", "backup"), ("state", "done")];
    assert!(value(&samples, "nexus_queue_jobs", &done_backups) >= 1.0);
    let done_verifies = [("kind", "verify"), ("state", "done")];
    assert_eq!(value(&samples, "nexus_queue_jobs", &done_verifies), 1.0);
    assert!(value(&samples, "nexus_workers_alive", &[]) >= 1.0);
    let ratio = value(&samples, "nexus_backup_storage_used_ratio", &[]);
    assert!(ratio > 0.0 && ratio <= 1.0, "{ratio}");
    assert_eq!(value(&samples, "nexus_backup_storage_level", &[]), 0.0);
    for state in ["uploading", "stored", "failed", "deleting"] {
        assert_eq!(
            value(&samples, "nexus_offsite_copies", &[("state", state)]),
            0.0
        );
    }
}

#[test]
fn the_figures_come_from_the_catalog_whoever_wrote_them() {
    let app = app_with_metrics_token().without_worker().spawn();
    let critical = nexus_shared::domain::DiskState {
        level: nexus_shared::domain::DiskLevel::Critical,
        automatic_paused: true,
        last_notified_at: None,
    };
    app.catalog().save_disk_state(&critical, 96.0).unwrap();

    let samples = checked_scrape(&app);

    assert_eq!(value(&samples, "nexus_backup_storage_level", &[]), 3.0);
    assert_eq!(value(&samples, "nexus_backup_automatic_paused", &[]), 1.0);
    assert_eq!(value(&samples, "nexus_workers_alive", &[]), 0.0);
    assert!(
        !samples
            .iter()
            .any(|s| s.name == "nexus_backup_last_success_timestamp_seconds"),
        "no success yet, no timestamp"
    );
}

#[test]
fn the_scrape_needs_a_user_token_or_the_metrics_token() {
    let app = app_with_metrics_token().without_worker().spawn();
    let viewer = app.token_for_new_user("viewer", Role::Viewer);

    let (status, _, body) = scrape(&app, None);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "authentication_required");
    for key in ["message", "user_action", "details"] {
        assert!(body.get(key).is_some(), "{key} in {body}");
    }

    let wrong = format!("{METRICS_TOKEN}x");
    let (status, _, body) = scrape(&app, Some(&wrong));
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "invalid_token"
    );

    for token in [METRICS_TOKEN, viewer.as_str()] {
        let (status, _, body) = scrape(&app, Some(token));
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("nexus_workers_alive 0"), "{body}");
    }
}

#[test]
fn without_a_metrics_token_setting_only_users_get_in() {
    let app = TestApp::builder().without_worker().spawn();

    let (status, _, _) = scrape(&app, Some(METRICS_TOKEN));
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = scrape(&app, Some(&app.admin_token()));
    assert_eq!(status, StatusCode::OK);
}

/// Metric names in PromQL expressions: every `nexus_…` word.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("nexus_") {
        let word: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + word.len()..];
        names.insert(word);
    }
    names
}

/// Every `expr` string anywhere in a JSON document.
fn exprs(json: &Value, out: &mut Vec<String>) {
    match json {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(s) if k == "expr" => out.push(s.clone()),
                    other => exprs(other, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| exprs(v, out)),
        _ => {}
    }
}

#[test]
fn the_dashboard_and_the_alert_rules_ask_only_for_metrics_that_are_served() {
    let app = app_with_metrics_token().spawn();
    let token = app.admin_token();
    let id = backup(&app, &token, "daily");
    app.wait_until_terminal(&token, &id, Duration::from_secs(60));
    let served: BTreeSet<String> = checked_scrape(&app).into_iter().map(|s| s.name).collect();
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");

    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(deploy.join("grafana/nexus-backup.json")).unwrap(),
    )
    .expect("the dashboard is JSON");
    let mut queries = Vec::new();
    exprs(&dashboard["panels"], &mut queries);
    assert!(queries.len() >= 10, "{queries:?}");
    let rules = std::fs::read_to_string(deploy.join("prometheus/nexus-backup.rules.yml")).unwrap();
    let rule_exprs: Vec<String> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("expr:").map(str::to_owned))
        .collect();
    assert_eq!(rule_exprs.len(), 5, "{rules}");

    for expr in queries.iter().chain(&rule_exprs) {
        let names = metric_names(expr);
        assert!(!names.is_empty(), "{expr}");
        for name in names {
            assert!(
                served.contains(&name),
                "{name} (in {expr}) is not served: {served:?}"
            );
        }
    }
}
