//! schemathesis (PyPI) against the real server: requests generated from
//! `GET /api/v1/openapi.json` for every operation, sent as the admin. No
//! answer may be a server error (5xx) and every answer must match the
//! document (`not_a_server_error`, `response_schema_conformance`, and the
//! status code, content type and headers too).
//!
//! Bounded and repeatable: a fixed number of generated cases per operation
//! (and of stateful scenarios, which follow the links schemathesis infers,
//! e.g. from a created backup to its detail), a fixed seed, one request at
//! a time, a time limit. DELETE and restores are left out:
//! they would remove or overwrite what the other operations read. The app
//! has real parts behind it (a worker, the SMTP sink, an S3 bucket), a
//! verified and restored backup with an offsite copy and a reconciliation
//! report, and half the generated ids are theirs, so the answers checked
//! are full ones, not only 404s.

use std::process::Command;
use std::time::{Duration, Instant};

use nexus_e2e::TestApp;
use nexus_e2e::reqwest::StatusCode;
use nexus_e2e::s3::S3Server;
use nexus_e2e::smtp::SmtpSink;
use serde_json::{Value, json};

/// Generated cases per operation in the fuzzing phase (and scenarios in
/// the stateful one).
const EXAMPLES_PER_OPERATION: &str = "15";
const SEED: &str = "20260131";
/// The run takes about half a minute; past this, it is stopped and fails.
const TIME_LIMIT: Duration = Duration::from_secs(600);

/// No server error; the status code, content type, headers and body of
/// every answer as the document says.
const CHECKS: &str = "not_a_server_error,response_schema_conformance,status_code_conformance,\
                      content_type_conformance,response_headers_conformance";

/// `python3 -m schemathesis.cli`, after checking that it is there and is
/// schemathesis 4 (whose flags this test uses).
fn schemathesis() -> Command {
    let cli = || {
        let mut c = Command::new("python3");
        c.args(["-m", "schemathesis.cli"]);
        c
    };
    let version = cli().arg("--version").output();
    let printed = match &version {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        other => panic!(
            "schemathesis is not installed ({other:?}): run \
             `python3 -m pip install 'schemathesis>=4,<5'` (.ci/run does)"
        ),
    };
    assert!(
        printed.contains("version 4."),
        "this test needs schemathesis 4, found {printed:?}: run \
         `python3 -m pip install 'schemathesis>=4,<5'`"
    );
    cli()
}

fn post(app: &TestApp, token: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = app.client().post(app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().unwrap();
    (r.status(), r.json().unwrap_or(Value::Null))
}

/// Polls `GET path` until `done` holds for its body.
fn wait_for(app: &TestApp, token: &str, path: &str, what: &str, done: impl Fn(&Value) -> bool) {
    app.eventually(
        what,
        Duration::from_secs(120),
        Duration::from_millis(100),
        || {
            let (status, body) = app.get_json(token, path);
            if status == StatusCode::OK && done(&body) {
                Ok(())
            } else {
                Err(format!("{status} {body}"))
            }
        },
    )
}

/// What the app holds before the run: a successful backup, verified, with
/// a stored offsite copy, restored once; a reconciliation report. Returns
/// the backup id and the restore id.
fn seed(app: &TestApp, token: &str) -> (String, String) {
    let (status, accepted) = app.post_backup(token, &json!({"type": "manual"}));
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let id = accepted["backup_id"].as_str().unwrap().to_owned();
    let backup = app.wait_until_terminal(token, &id, Duration::from_secs(120));
    assert_eq!(backup["status"], "success", "{backup}");

    let (status, body) = post(app, token, &format!("/api/v1/backups/{id}/verify"), None);
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let backup_path = format!("/api/v1/backups/{id}");
    wait_for(app, token, &backup_path, "the verification", |b| {
        b["last_verification"]["status"] == "pass"
    });
    wait_for(app, token, &backup_path, "the offsite copy", |b| {
        b["copies"]["offsite"]["state"] == "stored"
    });

    let restore_path = format!("/api/v1/backups/{id}/restore");
    let (status, body) = post(app, token, &restore_path, Some(json!({"confirm": id})));
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let restore_id = body["restore_id"].as_str().unwrap().to_owned();
    wait_for(
        app,
        token,
        &format!("/api/v1/restores/{restore_id}"),
        "the restore",
        |r| r["status"] == "success",
    );

    let (status, body) = post(app, token, "/api/v1/reconcile", None);
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    wait_for(app, token, "/api/v1/reconcile", "the reconciliation", |r| {
        r["checked_at"].is_string()
    });
    (id, restore_id)
}

/// schemathesis's configuration: half the generated `{id}` and
/// `{restore_id}` values are the seeded ones, and half the sign-ins use the
/// admin's name and password, so that the answers checked include full
/// ones, not only 400s, 401s and 404s.
fn config(app: &TestApp, backup_id: &str, restore_id: &str) -> String {
    let password = &app.admin_password;
    format!(
        r#"[dictionaries.backups]
values = ["{backup_id}"]

[dictionaries.restores]
values = ["{restore_id}"]

[dictionaries.usernames]
values = ["admin"]

[dictionaries.passwords]
values = ["{password}"]

[parameters]
"path.id" = {{ dictionary = "backups", probability = 0.5 }}
"path.restore_id" = {{ dictionary = "restores", probability = 0.5 }}
"body.username" = {{ dictionary = "usernames", probability = 0.5 }}
"body.password" = {{ dictionary = "passwords", probability = 0.5 }}
"#
    )
}

#[test]
fn generated_requests_get_no_server_error_and_answers_that_match_the_api_document() {
    let mut st = schemathesis();
    let sink = SmtpSink::start(None);
    let s3 = S3Server::start();
    let mut builder = TestApp::builder()
        .env("SMTP_HOST", "127.0.0.1")
        .env("SMTP_PORT", &sink.port.to_string())
        .env("SMTP_TLS", "none")
        .env("SMTP_FROM", "nexus-backup@example.test")
        .env("NEXUS_ALERT_TO", "ops@example.test");
    for (name, value) in s3.env("fuzz") {
        builder = builder.env(name, &value);
    }
    let app = builder.spawn();
    let token = app.admin_token();
    let (backup_id, restore_id) = seed(&app, &token);
    let config_file = app.dir.path().join("schemathesis.toml");
    std::fs::write(&config_file, config(&app, &backup_id, &restore_id)).unwrap();

    let output_path = app.dir.path().join("schemathesis.out");
    let output_file = std::fs::File::create(&output_path).unwrap();
    st.current_dir(app.dir.path())
        .arg("--config-file")
        .arg(&config_file)
        .arg("run")
        .arg(app.url("/api/v1/openapi.json"))
        .args(["--checks", CHECKS])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--exclude-method", "DELETE"])
        .args(["--exclude-path-regex", "/restore$"])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", EXAMPLES_PER_OPERATION])
        .args(["--seed", SEED])
        .args(["--workers", "1"])
        .args(["--request-timeout", "30"])
        .args(["--generation-database", "none"])
        .arg("--no-color")
        .stdout(output_file.try_clone().unwrap())
        .stderr(output_file);
    let started = Instant::now();
    let mut child = st.spawn().expect("start schemathesis");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > TIME_LIMIT {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = std::fs::read_to_string(&output_path).unwrap_or_default();
    println!("schemathesis took {:?}:\n{output}", started.elapsed());
    let Some(status) = status else {
        panic!("schemathesis did not finish within {TIME_LIMIT:?}:\n{output}");
    };
    assert!(
        status.success(),
        "schemathesis found answers that are server errors or do not match \
         the API document ({status}):\n{output}\n--- server logs ---\n{}",
        app.logs()
    );
}
