//! The API's one error type. Every error answers with the guide's §4.3 body
//! `{error, message, user_action, details}`, in Japanese by default and in
//! English when the request says `Accept-Language: en` (see [`localize`]).
//! A 500 never shows internals; its cause is logged once.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use nexus_shared::catalog::CatalogError;
use nexus_shared::domain::InvalidRestoreId;
use nexus_shared::domain::{BackupId, InvalidBackupId, InvalidDescription, MAX_DESCRIPTION_CHARS};
use nexus_shared::engine::EngineError;
use nexus_shared::fsutil::human_size;
use nexus_shared::queue::QueueError;
use nexus_shared::service::request::RequestError;
use serde_json::{Value, json};
use tokio::task::JoinError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("invalid backup type: {0}")]
    InvalidBackupType(String),
    #[error("invalid description: {0}")]
    InvalidDescription(String),
    #[error("invalid backup id")]
    InvalidBackupId(String),
    #[error("invalid parameter {parameter}: {reason}")]
    InvalidParameter {
        parameter: &'static str,
        reason: String,
    },
    #[error("authentication required")]
    AuthenticationRequired,
    #[error("invalid or expired token")]
    InvalidToken,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("too many failed logins; retry in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("forbidden: needs role {needed}")]
    Forbidden { needed: &'static str },
    #[error("backup not found")]
    BackupNotFound(String),
    #[error("backup {backup_id} cannot be verified: it is {status}")]
    BackupNotVerifiable {
        backup_id: String,
        status: &'static str,
    },
    #[error("backup {backup_id} is the newest {backup_type} backup")]
    LatestBackupProtected {
        backup_id: String,
        backup_type: &'static str,
    },
    #[error("backup {0} is the last backup")]
    LastBackupProtected(String),
    #[error("backup {0} is still in progress")]
    BackupInProgress(String),
    #[error("the confirmation does not repeat backup id {backup_id}")]
    ConfirmationMismatch { backup_id: String },
    #[error("backup {backup_id} cannot be restored: it is {status}")]
    BackupNotRestorable {
        backup_id: String,
        status: &'static str,
    },
    #[error("invalid restore id")]
    InvalidRestoreId(String),
    #[error("restore not found")]
    RestoreNotFound(String),
    #[error("no such route")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("insufficient disk space")]
    InsufficientDiskSpace { required: u64, available: u64 },
    #[error("database not found")]
    DatabaseNotFound,
    #[error("queue unavailable")]
    QueueUnavailable,
    #[error("mail is not configured: {0}")]
    MailNotConfigured(String),
    #[error("offsite copies are not configured")]
    OffsiteNotConfigured,
    #[error("backup {backup_id} has no stored offsite copy")]
    OffsiteCopyNotStored {
        backup_id: String,
        state: Option<&'static str>,
    },
    #[error("SMTP failed: {server}: {reason}")]
    SmtpFailed { server: String, reason: String },
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

mod body;
mod texts;

pub use body::ErrorBody;

impl ApiError {
    pub fn status_code(&self) -> StatusCode {
        use ApiError::*;
        match self {
            InvalidRequest(_)
            | InvalidBackupType(_)
            | InvalidDescription(_)
            | InvalidBackupId(_)
            | InvalidParameter { .. } => StatusCode::BAD_REQUEST,
            AuthenticationRequired | InvalidToken | InvalidCredentials => StatusCode::UNAUTHORIZED,
            Forbidden { .. } => StatusCode::FORBIDDEN,
            TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            BackupNotFound(_) | RouteNotFound => StatusCode::NOT_FOUND,
            BackupNotVerifiable { .. } => StatusCode::CONFLICT,
            LatestBackupProtected { .. } | LastBackupProtected(_) | BackupInProgress(_) => {
                StatusCode::CONFLICT
            }
            ConfirmationMismatch { .. } | InvalidRestoreId(_) => StatusCode::BAD_REQUEST,
            BackupNotRestorable { .. } => StatusCode::CONFLICT,
            RestoreNotFound(_) => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            InsufficientDiskSpace { .. } => StatusCode::INSUFFICIENT_STORAGE,
            OffsiteCopyNotStored { .. } => StatusCode::CONFLICT,
            DatabaseNotFound | QueueUnavailable | MailNotConfigured(_) | OffsiteNotConfigured => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            SmtpFailed { .. } => StatusCode::BAD_GATEWAY,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            InvalidRequest(_) => "invalid_request",
            InvalidBackupType(_) => "invalid_backup_type",
            InvalidDescription(_) => "invalid_description",
            InvalidBackupId(_) => "invalid_backup_id",
            InvalidParameter { .. } => "invalid_parameter",
            AuthenticationRequired => "authentication_required",
            InvalidToken => "invalid_token",
            InvalidCredentials => "invalid_credentials",
            TooManyAttempts { .. } => "too_many_attempts",
            Forbidden { .. } => "forbidden",
            BackupNotFound(_) => "backup_not_found",
            BackupNotVerifiable { .. } => "backup_not_verifiable",
            LatestBackupProtected { .. } => "latest_backup_protected",
            LastBackupProtected(_) => "last_backup_protected",
            BackupInProgress(_) => "backup_in_progress",
            ConfirmationMismatch { .. } => "confirmation_mismatch",
            BackupNotRestorable { .. } => "backup_not_restorable",
            InvalidRestoreId(_) => "invalid_restore_id",
            RestoreNotFound(_) => "restore_not_found",
            RouteNotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            PayloadTooLarge => "payload_too_large",
            UnsupportedMediaType => "unsupported_media_type",
            InsufficientDiskSpace { .. } => "insufficient_disk_space",
            DatabaseNotFound => "database_not_found",
            QueueUnavailable => "queue_unavailable",
            MailNotConfigured(_) => "mail_not_configured",
            SmtpFailed { .. } => "smtp_error",
            OffsiteNotConfigured => "offsite_not_configured",
            OffsiteCopyNotStored { .. } => "offsite_copy_not_stored",
            Internal(_) => "internal_error",
        }
    }

    fn details(&self) -> Value {
        use ApiError::*;
        match self {
            InvalidRequest(reason) | InvalidBackupType(reason) | InvalidDescription(reason) => {
                json!({ "reason": reason })
            }
            InvalidBackupId(given) => {
                json!({ "backup_id": given, "expected": "BKP-YYYYMMDD-HHMMSS-<type>" })
            }
            InvalidParameter { parameter, reason } => {
                json!({ "parameter": parameter, "reason": reason })
            }
            Forbidden { needed } => json!({ "required_role": needed }),
            TooManyAttempts { retry_after_secs } => {
                json!({ "retry_after_seconds": retry_after_secs })
            }
            BackupNotFound(id) => json!({ "backup_id": id }),
            BackupNotVerifiable { backup_id, status } => {
                json!({ "backup_id": backup_id, "status": status })
            }
            LatestBackupProtected {
                backup_id,
                backup_type,
            } => json!({ "backup_id": backup_id, "backup_type": backup_type }),
            LastBackupProtected(id) | BackupInProgress(id) => json!({ "backup_id": id }),
            ConfirmationMismatch { backup_id } => {
                json!({ "backup_id": backup_id, "expected": { "confirm": backup_id } })
            }
            BackupNotRestorable { backup_id, status } => {
                json!({ "backup_id": backup_id, "status": status })
            }
            InvalidRestoreId(given) => {
                json!({ "restore_id": given, "expected": "RST-<26 characters>" })
            }
            RestoreNotFound(id) => json!({ "restore_id": id }),
            OffsiteCopyNotStored { backup_id, state } => {
                json!({ "backup_id": backup_id, "offsite_state": state })
            }
            InsufficientDiskSpace {
                required,
                available,
            } => json!({
                "required_bytes": required,
                "available_bytes": available,
                "required_human": human_size(*required),
                "available_human": human_size(*available),
            }),
            MailNotConfigured(reason) => json!({ "reason": reason }),
            SmtpFailed { server, reason } => json!({ "smtp_server": server, "reason": reason }),
            _ => json!({}),
        }
    }

    fn body(&self, english: bool) -> ErrorBody {
        let texts = self.texts(english);
        ErrorBody {
            error: self.code(),
            message: texts.message,
            user_action: texts.user_action,
            details: self.details(),
        }
    }
}

/// The English body, carried to [`localize`] in the response extensions.
#[derive(Clone)]
struct EnglishBody(ErrorBody);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = format!("{e:#}"), "internal error");
        }
        let mut response = (self.status_code(), axum::Json(self.body(false))).into_response();
        response
            .extensions_mut()
            .insert(EnglishBody(self.body(true)));
        if let ApiError::TooManyAttempts { retry_after_secs } = &self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from_str(&retry_after_secs.to_string())
                    .expect("digits are a valid header"),
            );
        }
        if matches!(
            self,
            ApiError::AuthenticationRequired | ApiError::InvalidToken
        ) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// Middleware: answers errors in English when the client prefers it.
pub async fn localize(request: Request, next: Next) -> Response {
    let english = prefers_english(request.headers());
    let mut response = next.run(request).await;
    if let Some(EnglishBody(body)) = response.extensions_mut().remove::<EnglishBody>()
        && english
    {
        let bytes = serde_json::to_vec(&body).expect("an error body always serialises");
        response.headers_mut().remove(header::CONTENT_LENGTH);
        *response.body_mut() = Body::from(bytes);
    }
    response
}

/// `Accept-Language` whose first language is English.
fn prefers_english(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|first| first.trim().to_ascii_lowercase().starts_with("en"))
        .unwrap_or(false)
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::DatabaseNotFound { .. } => ApiError::DatabaseNotFound,
            EngineError::InsufficientDiskSpace {
                required,
                available,
            } => ApiError::InsufficientDiskSpace {
                required,
                available,
            },
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        ApiError::Internal(anyhow::Error::new(e).context("catalog"))
    }
}

/// The queue's database cannot take the job: 503, whatever the cause.
impl From<QueueError> for ApiError {
    fn from(_: QueueError) -> Self {
        ApiError::QueueUnavailable
    }
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Queue(e) => e.into(),
            RequestError::Catalog(e) => e.into(),
        }
    }
}

/// Blocking work that panicked.
impl From<JoinError> for ApiError {
    fn from(e: JoinError) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<InvalidBackupId> for ApiError {
    fn from(e: InvalidBackupId) -> Self {
        ApiError::InvalidBackupId(e.0)
    }
}

impl From<InvalidRestoreId> for ApiError {
    fn from(e: InvalidRestoreId) -> Self {
        ApiError::InvalidRestoreId(e.0)
    }
}

/// The domain's checks, in the API's words (`details.reason`).
impl From<InvalidDescription> for ApiError {
    fn from(e: InvalidDescription) -> Self {
        ApiError::InvalidDescription(match e {
            InvalidDescription::TooLong => {
                format!("longer than {MAX_DESCRIPTION_CHARS} characters")
            }
            InvalidDescription::ControlCharacters => "contains control characters".into(),
        })
    }
}

/// A lookup of backup `id`: its absence is 404 `backup_not_found`.
pub fn backup_not_found(id: &BackupId) -> impl FnOnce(CatalogError) -> ApiError + '_ {
    move |e| match e {
        CatalogError::NotFound => ApiError::BackupNotFound(id.to_string()),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_disk_space_error_has_the_guides_body() {
        let e = ApiError::InsufficientDiskSpace {
            required: 20_971_520,
            available: 10_485_760,
        };
        let body = serde_json::to_value(e.body(false)).unwrap();
        assert_eq!(body["error"], "insufficient_disk_space");
        assert_eq!(
            body["message"],
            "バックアップを作成するためのディスク容量が不足しています。"
        );
        assert_eq!(body["details"]["required_bytes"], 20_971_520);
        assert_eq!(body["details"]["available_human"], "10 MB");
        assert_eq!(e.status_code(), StatusCode::INSUFFICIENT_STORAGE);
    }

    #[test]
    fn english_is_chosen_only_when_it_is_the_first_language() {
        let mut h = axum::http::HeaderMap::new();
        assert!(!prefers_english(&h));
        h.insert(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9".parse().unwrap());
        assert!(prefers_english(&h));
        h.insert(header::ACCEPT_LANGUAGE, "ja,en;q=0.5".parse().unwrap());
        assert!(!prefers_english(&h));
    }
}
