//! Error answers of the REST API: a stable code, a message for a person and
//! the request's id, as `{"code", "message", "request_id"}`, for every refusal
//! (the handlers', the extractors' and the router's own 404 and 405).
//!
//! An [`ApiError`] becomes a response that carries the error as an extension;
//! the request-id layer ([`super::request_id`]), which wraps every route and
//! fallback, writes the body with the id. It also turns any other error
//! response that reaches it (one axum made by itself) into the same shape, so
//! no plain-text refusal leaves the server.

use axum::body::Body;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use skms_core::store::StoreError;
use skms_core::tenancy::TenancyError;
use tracing::warn;
use utoipa::ToSchema;

/// What went wrong, as a stable machine-readable code (the HTTP status follows from it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the request is malformed (bad JSON, a wrong type, an unknown field, a bad value).
    InvalidRequest,
    /// 401: no valid HTTP Basic credentials.
    Unauthorized,
    /// 403: the caller may not do this.
    Forbidden,
    /// 404: no such endpoint or resource (or one of another account).
    NotFound,
    /// 405: the endpoint does not take this method.
    MethodNotAllowed,
    /// 409: the name is already taken.
    Conflict,
    /// 413: the body is over the limit.
    PayloadTooLarge,
    /// 415: the body's Content-Type is not one the endpoint takes.
    UnsupportedMediaType,
    /// 429: too many failed sign-ins; `Retry-After` says when to try again.
    TooManyRequests,
    /// 500: the server failed (the cause is in its log, under the request id).
    Internal,
}

impl ErrorCode {
    /// The HTTP status of this code.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The code of an error status made elsewhere (axum's rejections): the
    /// nearest one, a client error being `invalid_request` unless named.
    pub fn of_status(status: StatusCode) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
            StatusCode::FORBIDDEN => ErrorCode::Forbidden,
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::CONFLICT => ErrorCode::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            s if s.is_client_error() => ErrorCode::InvalidRequest,
            _ => ErrorCode::Internal,
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for programs.
    pub code: ErrorCode,
    /// What went wrong, for a person.
    pub message: String,
    /// This request's id, also in the `X-Request-Id` header and the server's log.
    pub request_id: String,
}

/// An error answer: a code (which fixes the status) and a message for a person.
#[derive(Clone, Debug)]
pub struct ApiError {
    /// What went wrong, for programs.
    pub code: ErrorCode,
    /// What went wrong, for a person.
    pub message: String,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }
    /// 400 with `msg`.
    pub fn bad(msg: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, msg)
    }
    /// 401: no valid credentials.
    pub fn unauthorized() -> Self {
        Self::new(
            ErrorCode::Unauthorized,
            "authentication required: HTTP Basic with a user's name and password, or an app's UUID and secret",
        )
    }
    /// 403 with `msg`.
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, msg)
    }
    /// 404 "no such `what`".
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no such {what}"))
    }
    /// 404 with `msg`.
    pub fn not_found_message(msg: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, msg)
    }
    /// 405: the endpoint exists, the method does not.
    pub fn method_not_allowed() -> Self {
        Self::new(
            ErrorCode::MethodNotAllowed,
            "this endpoint does not take this method (see the Allow header)",
        )
    }
    /// 409 with `msg`.
    pub fn conflict(msg: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, msg)
    }
    /// 413: the body is over [`super::MAX_BODY`].
    pub fn too_large() -> Self {
        Self::new(
            ErrorCode::PayloadTooLarge,
            format!("the request body is over {} bytes", super::MAX_BODY),
        )
    }
    /// 415 with `msg`.
    pub fn unsupported_media_type(msg: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnsupportedMediaType, msg)
    }
    /// 500; the cause is logged (with the request id), not shown.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        warn!(error = %e, "REST request failed");
        Self::new(
            ErrorCode::Internal,
            "the server failed to process the request",
        )
    }

    /// The error of an axum rejection: its status's code and its text.
    fn rejected(status: StatusCode, text: String) -> Self {
        match ErrorCode::of_status(status) {
            ErrorCode::PayloadTooLarge => Self::too_large(),
            ErrorCode::Internal => Self::internal(text),
            code => Self::new(code, text),
        }
    }

    /// The status of this error.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The response for request `request_id`: the JSON body, and for 401 the Basic challenge.
    pub(super) fn render(&self, request_id: &str) -> Response {
        let body = ErrorBody {
            code: self.code,
            message: self.message.clone(),
            request_id: request_id.to_string(),
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut r = Response::new(Body::from(json));
        *r.status_mut() = self.status();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.code == ErrorCode::Unauthorized {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"skms\", charset=\"UTF-8\""),
            );
        }
        r
    }
}

impl IntoResponse for ApiError {
    /// A bodiless response carrying the error: the request-id layer renders it.
    fn into_response(self) -> Response {
        let mut r = self.status().into_response();
        r.extensions_mut().insert(self);
        r
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        Self::rejected(r.status(), r.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        Self::rejected(r.status(), r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::rejected(r.status(), r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::rejected(r.status(), r.body_text())
    }
}

impl From<TenancyError> for ApiError {
    fn from(e: TenancyError) -> Self {
        match e {
            TenancyError::Invalid(m) => ApiError::bad(m),
            TenancyError::Forbidden(m) => ApiError::forbidden(m),
            TenancyError::NotFound(_) => {
                ApiError::new(ErrorCode::NotFound, "no such user or account")
            }
            TenancyError::Conflict(m) => ApiError::conflict(m),
            TenancyError::Store(StoreError::Conflict(_)) => {
                ApiError::conflict("the name is already taken")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_maps_to_its_status_and_back() {
        for code in [
            ErrorCode::InvalidRequest,
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::Conflict,
            ErrorCode::PayloadTooLarge,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::Internal,
        ] {
            assert_eq!(ErrorCode::of_status(code.status()), code);
        }
        assert_eq!(
            ErrorCode::of_status(StatusCode::UNPROCESSABLE_ENTITY),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn the_body_has_code_message_and_request_id() {
        let r = ApiError::not_found("app").render("abc");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let body = ErrorBody {
            code: ErrorCode::NotFound,
            message: "no such app".into(),
            request_id: "abc".into(),
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"code": "not_found", "message": "no such app", "request_id": "abc"})
        );
    }
}
