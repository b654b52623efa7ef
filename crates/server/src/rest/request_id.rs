//! Every request gets an id: the client's `X-Request-Id` when it is a short
//! token of safe characters, else a new UUID. The id is a field of the span
//! the request is handled in (so every log line of the request carries it),
//! is sent back in the `X-Request-Id` header of every answer, and is the
//! `request_id` of every error body, which this layer writes.

use super::error::ErrorCode;
use super::ApiError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tracing::{debug, info_span, warn, Instrument};

/// The header that carries a request's id, both ways.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-sent id that is kept.
pub const MAX_LEN: usize = 64;

/// The largest plain-text error body (one axum made) taken as a message.
const MAX_TEXT: usize = 4096;

/// A request's id, in the request's extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Whether `id` (sent by the client) can be kept: 1 to [`MAX_LEN`] ASCII
/// letters, digits, `-`, `_`, `.` or `:`, so it is safe in logs and headers.
pub fn acceptable(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The layer: gives the request its id and span, renders error bodies, sets the header.
pub async fn layer(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span =
        info_span!("rest", request_id = %id, method = %req.method(), path = %req.uri().path());
    req.extensions_mut().insert(RequestId(id.clone()));
    let response = next.run(req).instrument(span.clone()).await;
    let mut response = finish(response, &id).instrument(span).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, v);
    }
    response
}

/// Marks an error-status answer whose body the OpenAPI document describes
/// (not the API's error form): [`finish`] leaves it as it is.
#[derive(Clone, Copy)]
pub(crate) struct DocumentedBody;

/// Writes the error body of an error answer (an [`ApiError`] the handlers or
/// extractors made, or any other error response, such as axum's own), logs
/// it, and closes the connection after a body that was too large to read.
async fn finish(mut response: Response, id: &str) -> Response {
    let status = response.status();
    let error = match response.extensions_mut().remove::<ApiError>() {
        Some(e) => e,
        // A documented answer of its own (readiness's 503 with its reason).
        None if response.extensions().get::<DocumentedBody>().is_some() => return response,
        None if status.is_client_error() || status.is_server_error() => {
            let (parts, body) = response.into_parts();
            let is_text = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/plain"));
            let text = match is_text {
                true => axum::body::to_bytes(body, MAX_TEXT)
                    .await
                    .ok()
                    .and_then(|b| String::from_utf8(b.to_vec()).ok())
                    .filter(|t| !t.trim().is_empty()),
                false => None,
            };
            let message = text.unwrap_or_else(|| {
                status
                    .canonical_reason()
                    .unwrap_or("the request failed")
                    .to_lowercase()
            });
            let error = ApiError::new(ErrorCode::of_status(status), message);
            response = Response::from_parts(parts, Body::empty());
            error
        }
        None => return response,
    };
    if error.code == ErrorCode::Internal {
        warn!(status = %error.status(), code = ?error.code, message = %error.message, "REST request failed");
    } else {
        debug!(status = %error.status(), code = ?error.code, message = %error.message, "REST request refused");
    }
    let mut rendered = error.render(id);
    // Headers the refusal set (Allow on a 405, say) stay.
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rendered.headers_mut().append(name.clone(), value.clone());
        }
    }
    if rendered.status() == StatusCode::PAYLOAD_TOO_LARGE {
        // The body was refused before it was read: the unread rest cannot be
        // taken for the next request, so the connection closes, and says so.
        rendered
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    rendered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_safe_client_ids_are_kept() {
        assert!(acceptable("abc-123_X.y:z"));
        assert!(acceptable(&"a".repeat(MAX_LEN)));
        assert!(!acceptable(&"a".repeat(MAX_LEN + 1)));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable("a\"b"));
        assert!(!acceptable("é"));
    }
}
