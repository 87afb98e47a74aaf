//! `POST /api/v1/auth/login`: username and password for a JWT.

use std::net::SocketAddr;
use std::sync::LazyLock;

use axum::Json as JsonResponse;
use axum::extract::{ConnectInfo, State};
use nexus_shared::blocking::blocking;
use nexus_shared::catalog::{AuditEntry, AuditResult, AuditSource, CatalogError};
use nexus_shared::domain::Role;
use nexus_shared::password;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::extract::Json;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Login {
    /// 1 to 128 bytes (UTF-8).
    #[schema(min_length = 1, max_length = 128, example = "admin")]
    username: String,
    /// At most 1024 bytes (UTF-8).
    #[schema(max_length = 1024)]
    password: String,
}

/// A signed-in user's token.
#[derive(Serialize, ToSchema)]
struct LoginResponse {
    /// A JWT: send it as `Authorization: Bearer <access_token>`.
    access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the token expires.
    expires_in: i64,
    user: SignedIn,
}

#[derive(Serialize, ToSchema)]
struct SignedIn {
    id: i64,
    username: String,
    role: Role,
}

/// A real hash, checked when the user does not exist so that a missing
/// user takes as long to refuse as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| password::hash("no such user").unwrap_or_default());

/// Sign in: username and password for a JWT
///
/// Failed sign-ins are counted per user and per address: after too many,
/// 429 until the `Retry-After` seconds have passed. Every attempt is
/// written to the audit trail.
#[utoipa::path(
    post,
    path = "/auth/login",
    operation_id = "login",
    tag = "service",
    request_body = Login,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 400, description = "`invalid_request`: username or password out of range", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`: no such user, or the wrong password", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: too many failed sign-ins", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Json(body): Json<Login>,
) -> Result<JsonResponse<LoginResponse>, ApiError> {
    if body.username.is_empty() || body.username.len() > 128 || body.password.len() > 1024 {
        return Err(ApiError::InvalidRequest(
            "username or password out of range".into(),
        ));
    }
    if let Err(wait) = state.login_throttle.check(&body.username, addr.ip()) {
        let entry = AuditEntry {
            actor: body.username.clone(),
            actor_id: None,
            source: AuditSource::Api,
            remote_addr: Some(addr.ip().to_string()),
            action: "auth.login",
            target: None,
            result: AuditResult::Denied,
            detail: Some("throttled: too many failed logins".into()),
        };
        state.catalog(move |c| c.append_audit(&entry)).await?;
        return Err(ApiError::TooManyAttempts {
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    let username = body.username.clone();
    let user = match state.catalog(move |c| c.find_user(&username)).await {
        Ok(user) => Some(user),
        Err(CatalogError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.clone());
    let given = body.password;
    let matches = blocking(move || password::verify(&given, &hash)).await?;

    let mut entry = AuditEntry {
        actor: body.username.clone(),
        actor_id: user.as_ref().map(|u| u.id),
        source: AuditSource::Api,
        remote_addr: Some(addr.ip().to_string()),
        action: "auth.login",
        target: None,
        result: AuditResult::Denied,
        detail: None,
    };
    let user = match user.filter(|_| matches) {
        Some(user) => user,
        None => {
            state
                .login_throttle
                .record_failure(&body.username, addr.ip());
            state.catalog(move |c| c.append_audit(&entry)).await?;
            return Err(ApiError::InvalidCredentials);
        }
    };
    state.login_throttle.record_success(&user.username);
    entry.result = AuditResult::Success;
    state.catalog(move |c| c.append_audit(&entry)).await?;
    let token = state.jwt.issue(user.id, user.token_version)?;
    Ok(JsonResponse(LoginResponse {
        access_token: token,
        token_type: "Bearer",
        expires_in: state.jwt.ttl_secs(),
        user: SignedIn {
            id: user.id,
            username: user.username,
            role: user.role,
        },
    }))
}
