//! Error answers of the REST API: a status and a message for a person.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use skms_core::store::StoreError;
use skms_core::tenancy::TenancyError;
use tracing::warn;

/// An error answer: a status and a message for a person, as `{"error": …}`.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl ApiError {
    /// 400 with `msg`.
    pub fn bad(msg: impl Into<String>) -> Self {
        ApiError(StatusCode::BAD_REQUEST, msg.into())
    }
    /// 403 with `msg`.
    pub fn forbidden(msg: impl Into<String>) -> Self {
        ApiError(StatusCode::FORBIDDEN, msg.into())
    }
    /// 404 "no such `what`".
    pub fn not_found(what: &str) -> Self {
        ApiError(StatusCode::NOT_FOUND, format!("no such {what}"))
    }
    /// 500; the cause is logged, not shown.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        warn!(error = %e, "REST request failed");
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server failed to process the request".into(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.0, Json(json!({ "error": self.1 }))).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"skms\", charset=\"UTF-8\""),
            );
        }
        r
    }
}

impl From<TenancyError> for ApiError {
    fn from(e: TenancyError) -> Self {
        match e {
            TenancyError::Invalid(m) => ApiError::bad(m),
            TenancyError::Store(StoreError::Conflict(_)) => {
                ApiError(StatusCode::CONFLICT, "the name is already taken".into())
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        TenancyError::Store(e).into()
    }
}

/// A handler's result.
pub type ApiResult<T> = Result<T, ApiError>;
