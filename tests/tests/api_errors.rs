//! Bad input and bad credentials get the right status and the guide's error
//! body `{error, message, user_action, details}`, never a 500 (SPEC §8, §9).

use nexus_e2e::reqwest::StatusCode;
use nexus_e2e::{JWT_SECRET, TestApp};
use nexus_shared::domain::Role;
use serde_json::{Value, json};

fn assert_error_body(body: &Value, code: &str) {
    assert_eq!(body["error"], code, "{body}");
    for field in ["message", "user_action"] {
        assert!(
            body[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field} missing: {body}"
        );
    }
    assert!(body["details"].is_object(), "{body}");
}

fn send_raw(
    app: &TestApp,
    token: &str,
    body: &str,
    content_type: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = app
        .client()
        .post(app.url("/api/v1/backups"))
        .bearer_auth(token)
        .body(body.to_owned());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let r = req.send().unwrap();
    (r.status(), r.json().unwrap_or(Value::Null))
}

#[test]
fn malformed_or_invalid_backup_requests_are_400_with_the_error_body() {
    let app = TestApp::builder().without_worker().spawn();
    let token = app.admin_token();
    let json_ct = Some("application/json");
    let long = "あ".repeat(501);
    let cases: Vec<(&str, String, Option<&str>, StatusCode, &str)> = vec![
        (
            "malformed JSON",
            "{\"type\": ".into(),
            json_ct,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "unknown field",
            r#"{"type":"manual","path":"/etc"}"#.into(),
            json_ct,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "an array, not an object",
            "[null, null]".into(),
            json_ct,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "wrong JSON type",
            r#"{"type":5}"#.into(),
            json_ct,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "unknown backup type",
            r#"{"type":"hourly"}"#.into(),
            json_ct,
            StatusCode::BAD_REQUEST,
            "invalid_backup_type",
        ),
        (
            "before_restore is not requestable",
            r#"{"type":"before_restore"}"#.into(),
            json_ct,
            StatusCode::BAD_REQUEST,
            "invalid_backup_type",
        ),
        (
            "description too long",
            format!(r#"{{"type":"manual","description":"{long}"}}"#),
            json_ct,
            StatusCode::BAD_REQUEST,
            "invalid_description",
        ),
        (
            "control characters",
            r#"{"type":"manual","description":"a\u0000b"}"#.into(),
            json_ct,
            StatusCode::BAD_REQUEST,
            "invalid_description",
        ),
        (
            "no content type",
            r#"{"type":"manual"}"#.into(),
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "huge body",
            format!(
                r#"{{"type":"manual","description":"{}"}}"#,
                "x".repeat(100_000)
            ),
            json_ct,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (what, body, ct, status, code) in cases {
        let (got, body) = send_raw(&app, &token, &body, ct);
        assert_eq!(got, status, "{what}: {body}");
        assert_error_body(&body, code);
    }
    let (_, list) = app.get_json(&token, "/api/v1/backups");
    assert_eq!(list["total"], 0, "no bad request created a record");
}

#[test]
fn an_id_not_of_the_backup_id_form_is_400_and_an_unknown_one_is_404() {
    let app = TestApp::builder().without_worker().spawn();
    let token = app.admin_token();
    for bad in [
        "..%2F..%2Fetc%2Fpasswd",
        "BKP-20260131-143025",
        "BKP-20260131-143025-hourly",
        "%00",
        "BKP-20261340-143025-manual",
    ] {
        let (status, body) = app.get_json(&token, &format!("/api/v1/backups/{bad}"));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_error_body(&body, "invalid_backup_id");
    }
    let (status, body) = app.get_json(&token, "/api/v1/backups/BKP-20260131-143025-manual");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error_body(&body, "backup_not_found");
    assert_eq!(body["details"]["backup_id"], "BKP-20260131-143025-manual");
}

#[test]
fn a_path_that_is_not_utf_8_once_decoded_is_400_with_the_error_body() {
    let app = TestApp::builder().without_worker().spawn();
    let token = app.admin_token();
    for path in [
        "/api/v1/backups/%FF",
        "/api/v1/backups/%C3%28/verifications",
        "/api/v1/restores/RST-%FE",
    ] {
        let (status, body) = app.get_json(&token, path);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_error_body(&body, "invalid_request");
    }
}

#[test]
fn bad_list_parameters_are_400_naming_the_parameter() {
    let app = TestApp::builder().without_worker().spawn();
    let token = app.admin_token();
    for (query, parameter) in [
        ("type=hourly", "type"),
        ("status=done", "status"),
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("offset=-1", "offset"),
    ] {
        let (status, body) = app.get_json(&token, &format!("/api/v1/backups?{query}"));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_error_body(&body, "invalid_parameter");
        assert_eq!(body["details"]["parameter"], parameter);
    }
    let (status, body) = app.get_json(&token, "/api/v1/backups?sort=asc");
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown parameter: {body}");
}

#[test]
fn errors_are_in_japanese_by_default_and_in_english_on_request() {
    let app = TestApp::builder().without_worker().spawn();
    let token = app.admin_token();
    let get = |lang: Option<&str>| {
        let mut req = app
            .client()
            .get(app.url("/api/v1/backups/BKP-20260131-143025-manual"))
            .bearer_auth(&token);
        if let Some(lang) = lang {
            req = req.header("accept-language", lang);
        }
        req.send().unwrap().json::<Value>().unwrap()
    };
    assert_eq!(
        get(None)["message"],
        "指定されたバックアップが見つかりません。"
    );
    assert_eq!(
        get(Some("en-US,en;q=0.9"))["message"],
        "The backup does not exist."
    );
    assert_eq!(get(Some("en"))["error"], "backup_not_found");
}

#[test]
fn requests_without_or_with_a_forged_or_expired_token_are_401() {
    let app = TestApp::builder().without_worker().spawn();
    let now = chrono::Utc::now().timestamp();
    let sign = |secret: &str, exp: i64| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &json!({"sub": "1", "iat": now - 7200, "exp": exp}),
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let r = app.client().get(app.url("/api/v1/backups")).send().unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_error_body(&r.json().unwrap(), "authentication_required");

    for (what, token) in [
        (
            "forged",
            sign("another-secret-another-secret-another-secret", now + 3600),
        ),
        ("expired", sign(JWT_SECRET, now - 60)),
        ("garbage", "not.a.jwt".to_owned()),
    ] {
        let (status, body) = app.get_json(&token, "/api/v1/backups");
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert_error_body(&body, "invalid_token");
    }
    let (status, _) = app.get_json(&sign(JWT_SECRET, now + 3600), "/api/v1/backups");
    assert_eq!(
        status,
        StatusCode::OK,
        "a token signed with the right secret works"
    );
}

#[test]
fn a_wrong_password_is_401_and_is_audited() {
    let app = TestApp::builder().without_worker().spawn();
    let (status, body) = app.login("admin", "wrong-password");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error_body(&body, "invalid_credentials");
    let (status, _) = app.login("nobody", "whatever");
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, body) = app.login("admin", &app.admin_password);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["user"]["role"], "admin");
    assert!(body["expires_in"].as_i64().unwrap() > 0);

    let audit = app.catalog().list_audit(50, 0).unwrap();
    let denied: Vec<_> = audit
        .iter()
        .filter(|a| a.action == "auth.login" && a.result == "denied")
        .collect();
    assert_eq!(denied.len(), 2);
    assert_eq!(
        denied
            .iter()
            .filter(|a| a.remote_addr.as_deref() == Some("127.0.0.1"))
            .count(),
        2
    );
}

#[test]
fn a_viewer_may_read_but_not_create_backups() {
    let app = TestApp::builder().without_worker().spawn();
    let viewer = app.token_for_new_user("viewer1", Role::Viewer);
    let operator = app.token_for_new_user("operator1", Role::Operator);

    let (status, body) = app.post_backup(&viewer, &json!({"type": "manual"}));
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error_body(&body, "forbidden");
    let (status, _) = app.get_json(&viewer, "/api/v1/backups");
    assert_eq!(status, StatusCode::OK);

    let (status, body) = app.post_backup(&operator, &json!({"type": "manual"}));
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

#[test]
fn a_missing_database_or_too_little_space_is_refused_at_once_without_a_record() {
    let full = TestApp::builder()
        .without_worker()
        .env("NEXUS_RESERVE_BYTES", "1000000000000000")
        .spawn();
    let token = full.admin_token();
    let (status, body) = full.post_backup(&token, &json!({"type": "manual"}));
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE);
    assert_error_body(&body, "insufficient_disk_space");
    assert_eq!(
        body["message"],
        "バックアップを作成するためのディスク容量が不足しています。"
    );
    assert_eq!(
        body["user_action"],
        "不要なバックアップファイルを削除するか、ストレージを拡張してください。"
    );
    let required = body["details"]["required_bytes"].as_u64().unwrap();
    let available = body["details"]["available_bytes"].as_u64().unwrap();
    assert!(required > available);
    assert!(
        body["details"]["required_human"]
            .as_str()
            .unwrap()
            .ends_with("B")
    );
    let (_, list) = full.get_json(&token, "/api/v1/backups");
    assert_eq!(list["total"], 0);

    let missing = TestApp::builder().without_worker().db_size_mb(0).spawn();
    let token = missing.admin_token();
    let (status, body) = missing.post_backup(&token, &json!({"type": "manual"}));
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_error_body(&body, "database_not_found");
}

#[test]
fn unknown_routes_and_methods_get_the_error_body_too() {
    let app = TestApp::builder().without_worker().spawn();
    let r = app
        .client()
        .get(app.url("/api/v1/nothing-here"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_error_body(&r.json().unwrap(), "not_found");
    let r = app.client().put(app.url("/api/v1/backups")).send().unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_error_body(&r.json().unwrap(), "method_not_allowed");
    let r = app.client().get(app.url("/healthz")).send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
