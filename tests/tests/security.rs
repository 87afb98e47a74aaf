//! Login throttling, the audit trail over the API, and secrets kept out of
//! the logs (SPEC §9).

use std::time::Duration;

use nexus_e2e::TestApp;
use nexus_e2e::reqwest::StatusCode;
use serde_json::json;

#[test]
fn a_burst_of_wrong_passwords_is_throttled_even_for_the_right_one_and_audited() {
    let app = TestApp::builder().without_worker().spawn();
    for _ in 0..5 {
        let (status, _) = app.login("admin", "not-the-password");
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    let r = app
        .client()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": app.admin_password}))
        .send()
        .unwrap();

    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 60, "{retry_after}");
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(body["error"], "too_many_attempts");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));

    let audit = app.catalog().list_audit(100, 0).unwrap();
    let throttled = audit
        .iter()
        .filter(|a| {
            a.action == "auth.login"
                && a.detail.as_deref() == Some("throttled: too many failed logins")
        })
        .count();
    assert_eq!(throttled, 1);
    let denied = audit
        .iter()
        .filter(|a| a.action == "auth.login" && a.result == "denied")
        .count();
    assert_eq!(denied, 6);
}

#[test]
fn the_audit_trail_is_readable_by_admins_only_with_filters_and_its_chain_holds() {
    let app = TestApp::spawn();
    let admin = app.admin_token();
    let viewer = app.token_for_new_user("auditor", nexus_shared::domain::Role::Viewer);
    let (_, b) = app.post_backup(&admin, &json!({"type": "manual"}));
    app.wait_until_terminal(
        &admin,
        b["backup_id"].as_str().unwrap(),
        Duration::from_secs(60),
    );

    let (status, _) = app.get_json(&viewer, "/api/v1/audit-logs");
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.get_json(&admin, "/api/v1/audit-logs?action=backup.create");
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total"], 1);
    let entry = &body["audit_logs"][0];
    assert_eq!(entry["actor"], "admin");
    assert_eq!(entry["remote_addr"], "127.0.0.1");
    assert_eq!(entry["target"], b["backup_id"]);
    assert_eq!(entry["result"], "accepted");
    let (_, runs) = app.get_json(&admin, "/api/v1/audit-logs?action=backup.run&actor=worker");
    assert_eq!(runs["audit_logs"][0]["result"], "success");
    let (status, _) = app.get_json(&admin, "/api/v1/audit-logs?from=yesterday");
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let report = app.catalog().verify_audit_chain().unwrap();
    assert_eq!(report.problem, None);
    assert!(report.records >= 4);
}

#[test]
fn a_full_run_logs_no_password_token_or_smtp_secret() {
    let smtp_password = "smtp-secret-do-not-log-7731";
    let metrics_token = "metrics-token-do-not-log-5512";
    let app = TestApp::builder()
        .env("SMTP_HOST", "127.0.0.1")
        .env("SMTP_PORT", "9")
        .env("SMTP_TLS", "none")
        .env("SMTP_USER", "mailer")
        .env("SMTP_PASSWORD", smtp_password)
        .env("NEXUS_ALERT_TO", "ops@example.test")
        .env("NEXUS_METRICS_TOKEN", metrics_token)
        .env("RUST_LOG", "debug")
        .spawn();
    let token = app.admin_token();
    let (_, b) = app.post_backup(&token, &json!({"type": "manual"}));
    app.wait_until_terminal(
        &token,
        b["backup_id"].as_str().unwrap(),
        Duration::from_secs(60),
    );
    app.login("admin", "a-wrong-password-to-log");
    let r = app
        .client()
        .post(app.url("/api/v1/notifications/test"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let r = app
        .client()
        .get(app.url("/metrics"))
        .bearer_auth(metrics_token)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let logs = app.logs();
    assert!(logs.len() > 1000, "the logs were captured");
    for secret in [
        app.admin_password.as_str(),
        token.as_str(),
        smtp_password,
        metrics_token,
        "a-wrong-password-to-log",
        nexus_e2e::JWT_SECRET,
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}

#[test]
fn a_password_change_revokes_the_tokens_issued_before_it() {
    let app = TestApp::builder().without_worker().spawn();
    let old = app.admin_token();
    let (status, _) = app.get_json(&old, "/api/v1/backups");
    assert_eq!(status, StatusCode::OK);

    let new_password = "a-brand-new-password-2026";
    let hash = nexus_shared::password::hash(new_password).unwrap();
    app.catalog().set_password("admin", &hash).unwrap();

    let (status, body) = app.get_json(&old, "/api/v1/backups");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_token");
    let (status, fresh) = app.login("admin", new_password);
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get_json(fresh["access_token"].as_str().unwrap(), "/api/v1/backups");
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn api_answers_carry_security_headers() {
    let app = TestApp::builder().without_worker().spawn();
    for path in ["/healthz", "/api/v1/backups"] {
        let r = app.client().get(app.url(path)).send().unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
}

#[test]
fn with_a_certificate_the_api_speaks_https() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl must be installed");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let app = TestApp::builder()
        .without_worker()
        .env("NEXUS_TLS_CERT", cert.to_str().unwrap())
        .env("NEXUS_TLS_KEY", key.to_str().unwrap())
        .spawn();
    assert!(
        app.base_url.starts_with("https://127.0.0.1:"),
        "{}",
        app.base_url
    );

    let curl = |args: &[&str]| {
        let out = std::process::Command::new("curl")
            .args(["-sk", "--max-time", "10"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(curl(&[&app.url("/healthz")]), r#"{"status":"ok"}"#);
    let login = curl(&[
        "-H",
        "content-type: application/json",
        "-d",
        &json!({"username": "admin", "password": app.admin_password}).to_string(),
        &app.url("/api/v1/auth/login"),
    ]);
    assert!(login.contains("access_token"), "{login}");
    let plain = app.base_url.replace("https://", "http://");
    assert!(
        !curl(&[&format!("{plain}/healthz")]).contains("ok"),
        "plain HTTP is not served"
    );
}
