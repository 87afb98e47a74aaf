//! Every API route × every role × (no token, forged token, expired token):
//! the role checks hold on every route, not just the ones someone
//! remembered to test (SPEC §9). Every route the router answers (its own
//! list, `nexus_api::routes::paths`) must have a row in [`routes`].

use nexus_e2e::reqwest::{Method, StatusCode};
use nexus_e2e::{JWT_SECRET, TestApp};
use nexus_shared::domain::Role;
use serde_json::{Value, json};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Needs {
    Viewer,
    Operator,
    Admin,
}

const UNKNOWN_ID: &str = "BKP-20200101-000000-manual";

fn routes() -> Vec<(Method, String, Option<Value>, Needs)> {
    use Needs::*;
    let post = Method::POST;
    let get = Method::GET;
    vec![
        (get.clone(), "/metrics".into(), None, Viewer),
        (get.clone(), "/api/v1/backups".into(), None, Viewer),
        (
            get.clone(),
            format!("/api/v1/backups/{UNKNOWN_ID}"),
            None,
            Viewer,
        ),
        (
            get.clone(),
            format!("/api/v1/backups/{UNKNOWN_ID}/verifications"),
            None,
            Viewer,
        ),
        (get.clone(), "/api/v1/storage".into(), None, Viewer),
        (get.clone(), "/api/v1/recovery-window".into(), None, Viewer),
        (get.clone(), "/api/v1/schedules".into(), None, Viewer),
        (get.clone(), "/api/v1/reconcile".into(), None, Viewer),
        (get.clone(), "/api/v1/offsite".into(), None, Viewer),
        (
            post.clone(),
            format!("/api/v1/backups/{UNKNOWN_ID}/offsite"),
            None,
            Operator,
        ),
        (
            post.clone(),
            format!("/api/v1/backups/{UNKNOWN_ID}/offsite/verify"),
            None,
            Operator,
        ),
        (
            post.clone(),
            "/api/v1/backups".into(),
            Some(json!({"type": "manual"})),
            Operator,
        ),
        (
            post.clone(),
            format!("/api/v1/backups/{UNKNOWN_ID}/verify"),
            None,
            Operator,
        ),
        (
            post.clone(),
            "/api/v1/backups/verify-all".into(),
            None,
            Operator,
        ),
        (
            Method::DELETE,
            format!("/api/v1/backups/{UNKNOWN_ID}"),
            None,
            Admin,
        ),
        (
            post.clone(),
            format!("/api/v1/backups/{UNKNOWN_ID}/restore"),
            Some(json!({"confirm": UNKNOWN_ID})),
            Admin,
        ),
        (get.clone(), "/api/v1/restores".into(), None, Viewer),
        (
            get.clone(),
            "/api/v1/restores/RST-00000000000000000000000000".into(),
            None,
            Viewer,
        ),
        (
            post.clone(),
            "/api/v1/prune?dry_run=true".into(),
            None,
            Admin,
        ),
        (get.clone(), "/api/v1/prune/preview".into(), None, Admin),
        (post.clone(), "/api/v1/reconcile".into(), None, Admin),
        (get, "/api/v1/audit-logs".into(), None, Admin),
        (post.clone(), "/api/v1/storage/check".into(), None, Admin),
        (post, "/api/v1/notifications/test".into(), None, Admin),
    ]
}

/// Whether `path` (query ignored) is an instance of the document's `template`.
fn matches_template(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap();
    let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}')))
}

#[test]
fn the_api_document_names_the_role_each_route_needs_and_this_table_covers_every_route() {
    let app = TestApp::builder().without_worker().spawn();
    let r = app
        .client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().unwrap();
    let table = routes();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation.get("security").is_none() {
                continue; // sign-in, health, the document
            }
            let method: Method = method.to_uppercase().parse().unwrap();
            let row = table
                .iter()
                .find(|(m, path, _, _)| *m == method && matches_template(template, path));
            let Some((_, _, _, needs)) = row else {
                panic!("{method} {template} is in the API document but not in routes() here");
            };
            let expected = format!("{needs:?}").to_lowercase();
            assert_eq!(
                operation["x-required-role"], expected,
                "{method} {template}: the document's x-required-role"
            );
        }
    }
}

/// Operations anyone may call: sign-in, health, the document.
const PUBLIC: [&str; 3] = [
    "POST /api/v1/auth/login",
    "GET /healthz",
    "GET /api/v1/openapi.json",
];

/// A concrete path for a router path: each `{param}` filled in.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment {
            "{restore_id}" => "RST-00000000000000000000000000",
            s if s.starts_with('{') => UNKNOWN_ID,
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_route_the_router_answers_has_a_row_in_this_table() {
    let app = TestApp::builder().without_worker().spawn();
    let table = routes();
    let mut routed = 0;
    for template in nexus_api::routes::paths() {
        for method in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ] {
            let (status, body) = call(&app, &method, &concrete(&template), &None, None);
            let fallback = (status == StatusCode::METHOD_NOT_ALLOWED
                && body["error"] == "method_not_allowed")
                || (status == StatusCode::NOT_FOUND && body["error"] == "not_found");
            if fallback || PUBLIC.contains(&format!("{method} {template}").as_str()) {
                continue;
            }
            routed += 1;
            assert!(
                table
                    .iter()
                    .any(|(m, path, _, _)| *m == method && matches_template(&template, path)),
                "{method} {template} is routed ({status} without a token) but has no row in routes() here"
            );
        }
    }
    assert!(
        routed >= table.len(),
        "only {routed} routes found in the router for {} rows",
        table.len()
    );
}

fn call(
    app: &TestApp,
    method: &Method,
    path: &str,
    body: &Option<Value>,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = app.client().request(method.clone(), app.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    let r = req.send().unwrap();
    (r.status(), r.json().unwrap_or(Value::Null))
}

fn token(secret: &str, user_id: i64, exp_offset: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": user_id.to_string(), "iat": now - 10, "exp": now + exp_offset}),
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[test]
fn every_route_refuses_missing_forged_and_expired_tokens() {
    let app = TestApp::builder().without_worker().spawn();
    let forged = token("another-secret-another-secret-another-secret", 1, 3600);
    let expired = token(JWT_SECRET, 1, -60);
    for (method, path, body, _) in routes() {
        for (what, t) in [
            ("no token", None),
            ("forged", Some(forged.as_str())),
            ("expired", Some(expired.as_str())),
        ] {
            let (status, resp) = call(&app, &method, &path, &body, t);
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {what}: {resp}"
            );
            assert!(resp["error"].is_string(), "{method} {path}: error body");
        }
    }
}

#[test]
fn every_route_lets_in_exactly_the_roles_it_should() {
    let app = TestApp::builder().without_worker().spawn();
    let tokens = [
        (Needs::Viewer, app.token_for_new_user("v", Role::Viewer)),
        (Needs::Operator, app.token_for_new_user("o", Role::Operator)),
        (Needs::Admin, app.admin_token()),
    ];
    for (method, path, body, needs) in routes() {
        for (role, t) in &tokens {
            let (status, resp) = call(&app, &method, &path, &body, Some(t));
            if role < &needs {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role:?} on {method} {path}: {resp}"
                );
                assert_eq!(resp["error"], "forbidden");
            } else {
                assert!(
                    !matches!(
                        status,
                        StatusCode::UNAUTHORIZED
                            | StatusCode::FORBIDDEN
                            | StatusCode::INTERNAL_SERVER_ERROR
                    ),
                    "{role:?} on {method} {path} got {status}: {resp}"
                );
            }
        }
    }
}

#[test]
fn ids_and_queries_with_traversal_or_injection_get_400_or_404_and_touch_nothing() {
    let app = TestApp::builder().without_worker().spawn();
    let admin = app.admin_token();
    let before: Vec<_> = walk(app.dir.path());
    for path in [
        "/api/v1/backups/..%2F..%2Fitsm_nexus.db",
        "/api/v1/backups/BKP-20260131-143025-manual%27%20OR%201%3D1--",
        "/api/v1/backups/BKP-20260131-143025-manual/../../etc",
        "/api/v1/backups?type=manual%27%3B%20DROP%20TABLE%20backups%3B--",
        "/api/v1/backups?status=success%00",
        "/api/v1/backups?limit=1%20OR%201%3D1",
        "/api/v1/audit-logs?actor=admin%27--&limit=abc",
    ] {
        for method in [Method::GET, Method::DELETE] {
            let (status, body) = call(&app, &method, path, &None, Some(&admin));
            assert!(
                matches!(
                    status,
                    StatusCode::BAD_REQUEST
                        | StatusCode::NOT_FOUND
                        | StatusCode::METHOD_NOT_ALLOWED
                ),
                "{method} {path}: {status} {body}"
            );
        }
    }
    let (status, list) = app.get_json(&admin, "/api/v1/backups");
    assert_eq!(
        status,
        StatusCode::OK,
        "the backups table is still there: {list}"
    );
    let after: Vec<_> = walk(app.dir.path());
    let db = |v: &Vec<(String, u64)>| {
        v.iter()
            .filter(|(p, _)| p.ends_with("itsm_nexus.db"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(db(&before), db(&after), "the ITSM database was not touched");
}

/// Files below `dir` with their sizes.
fn walk(dir: &std::path::Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push((path.display().to_string(), entry.metadata().unwrap().len()));
        }
    }
    out.sort();
    out
}
