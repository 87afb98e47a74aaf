//! The API's OpenAPI 3.1 document, served without login at
//! `GET /api/v1/openapi.json` (SPEC §11).
//!
//! It is generated, never written by hand: each route is registered
//! together with its `#[utoipa::path]` (utoipa-axum's `routes!`, in
//! `routes/`), which names the handler's own request, response and error
//! types. [`document`] then adds what the extractors give every route
//! alike: the bearer scheme, 401 from [`AuthUser`](crate::auth::AuthUser),
//! 403 below the role an operation's `x-required-role` names, 400 / 413 /
//! 415 from the [`Json`](crate::extract::Json) body, and 500.

use std::sync::LazyLock;

use utoipa::OpenApi as _;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{OpenApi, Ref, RefOr, Response, ResponseBuilder};

use crate::error::ErrorBody;

/// The name of the bearer scheme in `components.securitySchemes`.
pub const BEARER: &str = "bearer";

/// The extension naming the least role an operation needs.
pub const REQUIRED_ROLE: &str = "x-required-role";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Nexus Backup API",
        description = "Backups, verification and restores of the ITSM SQLite database (SPEC §8). \
            Every error answers with `ErrorBody`, in Japanese unless `Accept-Language` starts with `en`. \
            Sign in with `POST /api/v1/auth/login` and send the token as `Authorization: Bearer <token>`; \
            each operation's `x-required-role` names the least role it needs \
            (`viewer` < `operator` < `admin`)."
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerScheme),
    tags(
        (name = "backups", description = "Create, list, inspect and delete backups"),
        (name = "verification", description = "Integrity checks of backups"),
        (name = "restores", description = "Restores of the live database from a backup"),
        (name = "offsite", description = "Copies of backups in an S3-compatible bucket"),
        (name = "maintenance", description = "Prune, reconciliation, storage, schedules, mail"),
        (name = "audit", description = "The audit trail"),
        (name = "service", description = "Sign-in, health and this document"),
    )
)]
pub(crate) struct ApiDoc;

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".into());
        http.description = Some("The `access_token` of `POST /api/v1/auth/login`.".into());
        components.add_security_scheme(BEARER, SecurityScheme::Http(http));
    }
}

/// What the router starts its document from.
pub(crate) fn base() -> OpenApi {
    ApiDoc::openapi()
}

/// The document, built once from the router's own registration.
pub fn document() -> &'static OpenApi {
    static DOCUMENT: LazyLock<OpenApi> = LazyLock::new(|| {
        let (_, mut doc) = crate::routes::documented().split_for_parts();
        for item in doc.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                add_shared_answers(operation);
            }
        }
        doc
    });
    &DOCUMENT
}

/// The document as served.
pub fn document_json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        serde_json::to_string(document()).expect("the OpenAPI document always serialises")
    });
    &JSON
}

/// The role an operation needs, from its `x-required-role`.
pub fn required_role(operation: &Operation) -> Option<&str> {
    operation
        .extensions
        .as_ref()
        .and_then(|e| e.get(REQUIRED_ROLE))
        .and_then(|v| v.as_str())
}

fn add_shared_answers(operation: &mut Operation) {
    let signed_in = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    if signed_in {
        add(
            operation,
            401,
            "`authentication_required` without a token; `invalid_token` for a token that is \
             forged, expired, or older than the user's last password change",
        );
    }
    if let Some(role) = required_role(operation).map(str::to_owned) {
        let who = match role.as_str() {
            "admin" => "admins only",
            "operator" => "operators and admins",
            _ => "any signed-in user",
        };
        let description = operation.description.get_or_insert_with(String::new);
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(&format!("Role: `{role}` ({who})."));
        if role != "viewer" {
            add(
                operation,
                403,
                &format!("`forbidden`: the user's role is below `{role}`"),
            );
        }
    }
    if operation.request_body.is_some() {
        add(
            operation,
            400,
            "`invalid_request`: malformed JSON, a wrong type or an unknown field",
        );
        add(operation, 413, "`payload_too_large`: a body over 64 KiB");
        add(
            operation,
            415,
            "`unsupported_media_type`: the body is not `application/json`",
        );
    }
    add(
        operation,
        500,
        "`internal_error`: the cause is logged, never shown",
    );
}

/// Adds an error answer for `status`, or, if the operation documents that
/// status already, adds `description` to it.
fn add(operation: &mut Operation, status: u16, description: &str) {
    let key = status.to_string();
    match operation.responses.responses.get_mut(&key) {
        Some(RefOr::T(response)) => {
            if !response.description.contains(description) {
                response.description = format!("{}; {description}", response.description);
            }
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            operation
                .responses
                .responses
                .insert(key, RefOr::T(error_response(description)));
        }
    }
}

/// An answer with the error body.
pub(crate) fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            utoipa::openapi::content::ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}
