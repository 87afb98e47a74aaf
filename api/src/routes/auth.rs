//! `POST /api/v1/auth/login`: username and password for a JWT.

use std::net::SocketAddr;
use std::sync::LazyLock;

use axum::extract::{ConnectInfo, State};
use axum::routing::post;
use axum::{Json as JsonResponse, Router};
use nexus_shared::catalog::{AuditEntry, AuditResult, AuditSource, CatalogError};
use nexus_shared::password;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/auth/login", post(login))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    username: String,
    password: String,
}

/// A real hash, checked when the user does not exist so that a missing
/// user takes as long to refuse as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| password::hash("no such user").unwrap_or_default());

async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Json(body): Json<Login>,
) -> Result<JsonResponse<Value>, ApiError> {
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
    let matches = tokio::task::spawn_blocking(move || password::verify(&given, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;

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
    Ok(JsonResponse(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": state.jwt.ttl_secs(),
        "user": { "id": user.id, "username": user.username, "role": user.role },
    })))
}
