//! Extractors whose rejections are [`ApiError`]s, so a malformed body,
//! query or path gets the same error body as every other failure.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use nexus_shared::domain::BackupId;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON object body; `deny_unknown_fields` on the target type turns
/// unknown fields into 400s too. Anything but an object is a 400, though
/// serde would take a struct from an array of its fields (`[null, null]`).
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(value)) => value,
            Err(JsonRejection::MissingJsonContentType(_)) => {
                return Err(ApiError::UnsupportedMediaType);
            }
            Err(JsonRejection::BytesRejection(e))
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
            {
                return Err(ApiError::PayloadTooLarge);
            }
            Err(e) => return Err(ApiError::InvalidRequest(e.body_text())),
        };
        if !value.is_object() {
            return Err(ApiError::InvalidRequest(
                "the body must be a JSON object".into(),
            ));
        }
        serde_json::from_value(value).map(Json).map_err(|e| {
            ApiError::InvalidRequest(format!(
                "Failed to deserialize the JSON body into the target type: {e}"
            ))
        })
    }
}

/// A query string.
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Query(v))
            .map_err(|e: QueryRejection| ApiError::InvalidRequest(e.body_text()))
    }
}

/// Path parameters. axum's own answers a segment that is not UTF-8 once
/// decoded (`/api/v1/backups/%FF`) with a plain-text 400.
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|e: PathRejection| ApiError::InvalidRequest(e.body_text()))
    }
}

/// A backup route's `{id}`, parsed. Text that is not a backup id is 400
/// `invalid_backup_id`, with the text as given (cut to 100 characters) in
/// `details.backup_id`; the route's other checks, such as its role, come
/// before it in the handler's arguments.
pub struct BackupIdPath(pub BackupId);

impl<S> FromRequestParts<S> for BackupIdPath
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await?;
        Ok(BackupIdPath(BackupId::parse(&raw)?))
    }
}
