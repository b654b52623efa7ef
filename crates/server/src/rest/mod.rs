//! The REST API over HTTPS (port 8443): the provider's sysadmin creates
//! accounts; an account's admin manages its groups and apps (credentials,
//! authentication method, pinned certificates, trusted CAs); anyone downloads
//! the server's CA certificate; an app allowed REST sends KMIP to `/kmip`
//! (KMIP over HTTPS: binary TTLV, JSON or XML by Content-Type). Every handler
//! calls the same tenancy and operation code as the CLI and the KMIP listener.
//!
//! Authentication is HTTP Basic: a user's login name and password, or an app's
//! UUID and secret. Failures from one address are slowed down like on KMIP.
//! Another account's app or group answers exactly like one that does not exist.

mod auth;
mod error;
mod kmip;
mod tenancy;

pub use auth::Principal;
pub use error::{ApiError, ApiResult};

use crate::kmip_listener::Shared;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value as JsonValue};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, Semaphore};
use tokio_rustls::TlsAcceptor;
use tracing::debug;

/// Largest request body accepted, in bytes (a PEM bundle or a KMIP JSON message).
pub const MAX_BODY: usize = 1024 * 1024;

/// What the handlers share.
pub struct RestState {
    /// The KMIP listener's shared state: store, keyring, limits, back-off, secret cache.
    pub shared: Arc<Shared>,
    /// The server CA certificate, PEM.
    pub ca_pem: String,
}

/// The peer address of the connection a request came on.
#[derive(Clone, Copy)]
pub(crate) struct Peer(pub SocketAddr);

/// Runs blocking store, hashing or sealing work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

/// The REST routes.
pub fn router(state: Arc<RestState>) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/ca-certificate", get(ca_certificate))
        .route("/v1/whoami", get(whoami))
        .merge(tenancy::routes())
        .merge(kmip::routes())
        .fallback(|| async { ApiError::not_found("endpoint") })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(too_large_closes))
        .with_state(state)
}

/// A body over the limit is refused before it is read: answer in the API's
/// error form and close the connection (the unread rest of the body cannot be
/// taken for the next request), saying so, so that clients do not reuse it.
async fn too_large_closes(response: Response) -> Response {
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    let mut r = ApiError(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is over {MAX_BODY} bytes"),
    )
    .into_response();
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

async fn health() -> Json<JsonValue> {
    Json(json!({ "status": "ok" }))
}

async fn ca_certificate(State(state): State<Arc<RestState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        state.ca_pem.clone(),
    )
        .into_response()
}

async fn whoami(principal: Principal) -> Json<JsonValue> {
    Json(match principal {
        Principal::User(u) => json!({
            "kind": "user",
            "name": u.name,
            "role": u.role.as_str(),
            "account": u.account.map(|a| a.to_string()),
        }),
        Principal::App(c) => json!({
            "kind": "app",
            "id": c.app.id.to_string(),
            "name": c.app.name,
            "account": c.account.id.to_string(),
        }),
    })
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The HTTPS server configuration: the server certificate, TLS 1.3 and 1.2
/// (rustls, AEAD suites only), no client certificate, HTTP/1.1.
pub fn https_config(
    data: &crate::init::DataDir,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let mut cfg = rustls::ServerConfig::builder_with_provider(crate::tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(data.server_chain.clone(), data.server_key.clone_key())?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The longest a REST connection may live: an admin API needs no long-lived
/// connections, and a client that stops reading its answers cannot hold a slot.
const MAX_CONNECTION_LIFE: Duration = Duration::from_secs(600);

/// Serves the REST API on `listener` until `stop` fires (subscribed by the
/// caller before spawning, so an early stop is not missed): TLS by `acceptor`,
/// at most `max_connections` at once, slow, silent or non-reading clients cut off.
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    max_connections: usize,
    handshake_timeout: Duration,
    mut stop: broadcast::Receiver<()>,
) {
    let limit = Arc::new(Semaphore::new(max_connections));
    // Connections watch this: unlike a broadcast, a watch shows a late
    // subscriber that the stop already happened.
    let (stopping, _) = tokio::sync::watch::channel(false);
    loop {
        let permit = tokio::select! {
            _ = stop.recv() => break,
            p = limit.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let (tcp, peer) = tokio::select! {
            _ = stop.recv() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    debug!(error = %e, "HTTPS accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let mut stop_conn = stopping.subscribe();
        tokio::spawn(async move {
            let _permit = permit;
            let handshake = tokio::time::timeout(handshake_timeout, acceptor.accept(tcp));
            let tls = match tokio::select! {
                t = handshake => t,
                _ = crate::stopped(&mut stop_conn) => return,
            } {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    debug!(%peer, error = %e, "HTTPS handshake failed");
                    return;
                }
                Err(_) => {
                    debug!(%peer, "HTTPS handshake timed out");
                    return;
                }
            };
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(Peer(peer));
                    tower::ServiceExt::oneshot(router.clone(), req)
                },
            );
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(handshake_timeout)
                .max_buf_size(64 * 1024);
            let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(tls), service);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => if let Err(e) = r { debug!(%peer, error = %e, "HTTPS connection ended") },
                _ = crate::stopped(&mut stop_conn) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                }
                _ = tokio::time::sleep(MAX_CONNECTION_LIFE) => {
                    debug!(%peer, "HTTPS connection closed after its longest life");
                }
            }
        });
    }
    let _ = stopping.send(true);
}
