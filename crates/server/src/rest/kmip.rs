//! KMIP over HTTPS (`POST /kmip`) for apps allowed the REST interface.

use super::error::ErrorBody;
use super::extract::ApiBytes;
use super::{blocking, now, ApiError, ApiResult, Principal, RestState};
use crate::audit;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use skms_core::ops::{self, Context};
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this module, each with its documentation.
pub(super) fn routes() -> OpenApiRouter<Arc<RestState>> {
    OpenApiRouter::new().routes(routes!(kmip_https))
}

/// The KMIP encodings of KMIP over HTTPS (KMIP Profiles, HTTPS): chosen by the
/// request's Content-Type, answered in the same.
#[derive(Clone, Copy)]
enum Encoding {
    /// `application/octet-stream`: binary TTLV.
    Ttlv,
    /// `application/json`.
    Json,
    /// `text/xml` or `application/xml`.
    Xml,
}

impl Encoding {
    fn of(headers: &HeaderMap) -> ApiResult<Self> {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match ct.as_str() {
            "application/octet-stream" => Ok(Encoding::Ttlv),
            "application/json" => Ok(Encoding::Json),
            "text/xml" | "application/xml" => Ok(Encoding::Xml),
            _ => Err(ApiError::unsupported_media_type(
                "KMIP over HTTPS takes application/octet-stream (TTLV), application/json or text/xml",
            )),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Encoding::Ttlv => "application/octet-stream",
            Encoding::Json => "application/json",
            Encoding::Xml => "text/xml",
        }
    }

    fn decode(self, body: &[u8], limits: &kmip::binary::Limits) -> Result<kmip::Ttlv, String> {
        let text = || std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string());
        match self {
            Encoding::Ttlv => kmip::binary::decode(body, limits),
            Encoding::Json => kmip::json::from_str(text()?, limits),
            Encoding::Xml => kmip::xml::from_str(text()?, limits),
        }
        .map_err(|e| format!("malformed KMIP: {e}"))
    }

    fn encode(self, item: &kmip::Ttlv) -> Vec<u8> {
        match self {
            Encoding::Ttlv => kmip::binary::encode(item),
            Encoding::Json => kmip::json::to_string(item).into_bytes(),
            Encoding::Xml => kmip::xml::to_string(item).into_bytes(),
        }
    }
}

/// Send a KMIP request message (KMIP over HTTPS; apps allowed REST).
///
/// One request message in binary TTLV, JSON or XML (by Content-Type), answered
/// in the same encoding by the same operations as KMIP over TLS. A message that
/// cannot be decoded is answered in KMIP (Invalid Message), with 200.
#[utoipa::path(
    post,
    path = "/kmip",
    tag = "kmip",
    security(("basic" = [])),
    request_body(
        description = "A KMIP request message",
        content(
            ("application/octet-stream"),
            (Object = "application/json"),
            (String = "text/xml"),
            (String = "application/xml"),
        )
    ),
    responses(
        (status = 200, description = "The KMIP response message, in the request's encoding", content(
            ("application/octet-stream"),
            (Object = "application/json"),
            (String = "text/xml"),
        )),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an app allowed the REST interface", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 415, description = "Not one of the KMIP encodings", body = ErrorBody),
    )
)]
async fn kmip_https(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    headers: HeaderMap,
    peer: Option<axum::Extension<super::Peer>>,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Response> {
    let Principal::App(caller) = principal else {
        return Err(ApiError::forbidden(
            "only an app allowed the REST interface may send KMIP",
        ));
    };
    let encoding = Encoding::of(&headers)?;
    let shared = state.shared.clone();
    let source = peer
        .map(|p| p.0 .0.ip())
        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
    let out = blocking(move || {
        // The request may carry key material (Register): wiped once read.
        let body = zeroize::Zeroizing::new(body.to_vec());
        let ctx = Context {
            store: &*shared.store,
            keyring: &shared.keyring,
            now: now(),
            server: &shared.server_info,
        };
        let response = match encoding.decode(&body, &shared.limits).and_then(|tree| {
            kmip::messages::RequestMessage::from_ttlv(tree)
                .map_err(|e| format!("invalid request message: {e}"))
        }) {
            Ok(request) => {
                let plan = audit::KmipPlan::of(&request);
                let response = ops::handle_message(&ctx, Some(&*caller), request);
                // As over TLS: a change is answered only once its record is committed.
                let (events, changes) = plan.events(Some(&*caller), source, "https", &response);
                if let Err(e) = audit::record(&shared.audit, events, changes) {
                    tracing::error!(error = %e, "an operation's audit record was not stored");
                }
                response
            }
            Err(message) => ops::invalid_message(&ctx, (2, 1), message),
        };
        Ok(encoding.encode(&response.to_ttlv()))
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, encoding.content_type()),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        out,
    )
        .into_response())
}
