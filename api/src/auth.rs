//! Authentication: JWTs signed with the service's secret, and the
//! [`AuthUser`] extractor that every protected handler takes; [`admit`]
//! lets a user do an audited action, or writes the denial.

mod admit;

pub use admit::{Action, Admitted, Needs, actions, admit, audit_entry};

use std::path::Path;

use anyhow::Context as _;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use nexus_shared::catalog::CatalogError;
use nexus_shared::domain::Role;
use nexus_shared::fsutil;
use nexus_shared::settings::Settings;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::state::AppState;

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl_secs: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user id.
    sub: String,
    iat: i64,
    exp: i64,
    /// The user's token version when issued; see `User::token_version`.
    #[serde(default)]
    ver: i64,
}

impl JwtKeys {
    /// The secret from the settings, else the one kept in the data folder,
    /// else a new one written there with mode 0600.
    pub fn load(settings: &Settings) -> anyhow::Result<JwtKeys> {
        let secret = match &settings.jwt_secret {
            Some(s) => s.expose().as_bytes().to_vec(),
            None => stored_secret(&settings.jwt_secret_path())?,
        };
        anyhow::ensure!(
            secret.len() >= 32,
            "the JWT secret must have at least 32 bytes"
        );
        Ok(JwtKeys {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            ttl_secs: (settings.jwt_ttl_minutes.max(1) * 60) as i64,
        })
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    pub fn issue(&self, user_id: i64, token_version: i64) -> anyhow::Result<String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            iat: now,
            exp: now + self.ttl_secs,
            ver: token_version,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// The user id and token version in a valid, unexpired token.
    fn verify(&self, token: &str) -> Option<(i64, i64)> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()
            .and_then(|data| Some((data.claims.sub.parse().ok()?, data.claims.ver)))
    }
}

fn stored_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Write as _;
    if let Ok(existing) = std::fs::read(path) {
        return Ok(existing);
    }
    if let Some(dir) = path.parent() {
        fsutil::create_private_dir(dir)?;
    }
    let secret = hex::encode(rand::random::<[u8; 32]>());
    match fsutil::create_private_file(path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())?;
            file.sync_all()?;
            Ok(secret.into_bytes())
        }
        // Another process wrote it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::thread::sleep(std::time::Duration::from_millis(50));
            std::fs::read(path).context("cannot read the JWT secret")
        }
        Err(e) => Err(e).context("cannot write the JWT secret"),
    }
}

/// The user a request is made by, with their current role.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
}

impl AuthUser {
    /// Creating and verifying backups.
    pub fn require_operator(&self) -> Result<(), ApiError> {
        if self.role.can_operate() {
            Ok(())
        } else {
            Err(ApiError::Forbidden { needed: "operator" })
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden { needed: "admin" })
        }
    }
}

/// The bearer token of a request: 401 without one.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or(ApiError::AuthenticationRequired)?;
    header
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError::InvalidToken)
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let (user_id, version) = state.jwt.verify(token).ok_or(ApiError::InvalidToken)?;
        // The role is read afresh, so a changed role or a removed user
        // takes effect at once.
        let user = state
            .catalog(move |c| c.get_user(user_id))
            .await
            .map_err(|e| match e {
                CatalogError::NotFound => ApiError::InvalidToken,
                other => other.into(),
            })?;
        if user.token_version != version {
            return Err(ApiError::InvalidToken); // the password changed since
        }
        Ok(AuthUser {
            id: user.id,
            username: user.username,
            role: user.role,
        })
    }
}

/// Who may read `GET /metrics`: any signed-in user, or a scraper holding
/// the `metrics_token` (so a Prometheus server needs no user account).
#[derive(Debug, Clone)]
pub enum MetricsReader {
    User(AuthUser),
    Scraper,
}

impl FromRequestParts<AppState> for MetricsReader {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(expected) = &state.settings.metrics_token
            && bearer(parts).is_ok_and(|given| expected.matches(given))
        {
            return Ok(MetricsReader::Scraper);
        }
        AuthUser::from_request_parts(parts, state)
            .await
            .map(MetricsReader::User)
    }
}
