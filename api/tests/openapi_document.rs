//! The API document (`GET /api/v1/openapi.json`) against the router itself,
//! in process (`tower::ServiceExt::oneshot`): it lists every route the
//! router has under `/api/v1` and `/healthz` and no other, each with the
//! methods that really answer; its security claims hold; every error answer
//! it names has the error body.
//!
//! The router's paths are read from the router (`nexus_api::routes::paths`:
//! axum prints them in its `Debug` output), not from the document or a
//! hand list, and each method is tried: one answered by the router's 405
//! fallback is not routed. So a route added with a plain `.route(..)`
//! beside utoipa-axum's `routes!` fails here until it is documented.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use nexus_api::openapi::{BEARER, document, required_role};
use nexus_shared::settings::{Secret, Settings};
use serde_json::Value;
use tower::ServiceExt as _;
use utoipa::openapi::path::Operation;

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// The app on a catalog and a queue in a temp folder.
async fn app() -> (axum::Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        data_dir: dir.path().join("data"),
        db_path: dir.path().join("itsm_nexus.db"),
        backup_root: dir.path().join("backups"),
        jwt_secret: Some(Secret::new("openapi-test-secret-openapi-test-secret")),
        ..Settings::default()
    };
    std::fs::create_dir_all(&settings.data_dir).expect("data dir");
    let state = nexus_api::build_state(settings).await.expect("state");
    (nexus_api::app(state), dir)
}

/// Sends a request without a token; returns the status and the body.
async fn call(app: &axum::Router, method: Method, path: &str) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The paths the router matches (see `nexus_api::routes::paths`), that
/// the document must describe.
fn router_paths() -> BTreeSet<String> {
    let paths = nexus_api::routes::paths();
    assert!(
        paths.contains("/healthz") && paths.contains("/api/v1/backups"),
        "could not read the router's paths from its Debug output \
         (has axum changed its format?): {paths:?}"
    );
    paths
}

/// A concrete path for a template: each `{param}` filled in.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "BKP-20200101-000000-manual"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn operations() -> Vec<(Method, String, &'static Operation)> {
    let mut out = Vec::new();
    for (path, item) in &document().paths.paths {
        for (method, operation) in [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::PATCH, &item.patch),
            (Method::DELETE, &item.delete),
        ] {
            if let Some(operation) = operation {
                out.push((method, path.clone(), operation));
            }
        }
        assert!(
            item.head.is_none() && item.options.is_none() && item.trace.is_none(),
            "{path}: only GET, POST, PUT, PATCH and DELETE are checked here"
        );
    }
    out
}

#[tokio::test]
async fn the_document_lists_exactly_the_routes_the_router_answers() {
    let (app, _dir) = app().await;
    let mut routed = BTreeSet::new();
    for path in router_paths() {
        for method in METHODS {
            let (status, body) = call(&app, method.clone(), &concrete(&path)).await;
            let fallback = (status == StatusCode::METHOD_NOT_ALLOWED
                && body["error"] == "method_not_allowed")
                || (status == StatusCode::NOT_FOUND && body["error"] == "not_found");
            if !fallback {
                routed.insert(format!("{method} {path}"));
            }
        }
    }
    let documented: BTreeSet<String> = operations()
        .into_iter()
        .map(|(method, path, _)| format!("{method} {path}"))
        .collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the API document (register them with `routes!` \
         and a `#[utoipa::path]`): {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented operations the router does not answer: {unrouted:?}"
    );
}

#[tokio::test]
async fn every_operation_but_sign_in_health_and_the_document_needs_a_token_and_names_its_role() {
    let (app, _dir) = app().await;
    let public = [
        "POST /api/v1/auth/login",
        "GET /healthz",
        "GET /api/v1/openapi.json",
    ];
    for (method, path, operation) in operations() {
        let name = format!("{method} {path}");
        let (status, body) = call(&app, method, &concrete(&path)).await;
        if public.contains(&name.as_str()) {
            assert!(operation.security.is_none(), "{name} is public");
            assert_ne!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
            continue;
        }
        let schemes: Vec<String> = operation
            .security
            .iter()
            .flatten()
            .map(|s| serde_json::to_value(s).unwrap().to_string())
            .collect();
        assert_eq!(schemes, [format!("{{\"{BEARER}\":[]}}")], "{name}");
        assert!(
            matches!(
                required_role(operation),
                Some("viewer" | "operator" | "admin")
            ),
            "{name} names no x-required-role"
        );
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{name} without a token: {body}"
        );
        assert_eq!(body["error"], "authentication_required", "{name}");
        let documented = &operation.responses.responses;
        assert!(documented.contains_key("401"), "{name} documents 401");
        if required_role(operation) != Some("viewer") {
            assert!(documented.contains_key("403"), "{name} documents 403");
        }
    }
}

#[tokio::test]
async fn every_operation_has_its_own_id_a_success_answer_and_the_error_body_on_errors() {
    let doc = serde_json::to_value(document()).unwrap();
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap_or_default();
            assert!(
                ids.insert(id.to_owned()),
                "{method} {path}: operationId {id:?} again"
            );
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path} documents its success"
            );
            for (status, response) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
    }
    let error = &doc["components"]["schemas"]["ErrorBody"];
    let mut required: Vec<&str> = error["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(required, ["details", "error", "message", "user_action"]);
}

#[tokio::test]
async fn the_document_is_served_without_login_as_openapi_3_1() {
    let (app, _dir) = app().await;
    let request = Request::get("/api/v1/openapi.json")
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(
        body["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        body["openapi"]
    );
    assert_eq!(body, serde_json::to_value(document()).unwrap());
    let bearer = &body["components"]["securitySchemes"][BEARER];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");
    assert_eq!(bearer["bearerFormat"], "JWT");
}
