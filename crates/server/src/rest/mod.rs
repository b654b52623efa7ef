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
//!
//! Every route is registered with its OpenAPI 3.1 description (utoipa), and
//! the document is served at `/v1/openapi.json`. Every answer carries an
//! `X-Request-Id`; every refusal is `{"code", "message", "request_id"}`.
//!
//! The web console is served at `/console/` by the same router (outside the
//! document), with cookie sessions whose changes need a CSRF token.

mod audit;
mod auth;
mod certs;
mod console;
mod error;
mod extract;
mod kmip;
mod objects;
mod observe;
mod openapi;
pub mod request_id;
mod server_cert;
mod tenancy;
mod users;

pub use auth::Principal;
pub use error::{ApiError, ApiResult, ErrorBody, ErrorCode};
pub use openapi::{documented, openapi, route_table};

use crate::kmip_listener::Shared;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, Semaphore};
use tokio_rustls::TlsAcceptor;
use tracing::debug;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

/// Runs blocking store, hashing or sealing work off the async threads, in
/// the request's span (so what it logs carries the request id).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(ApiError::internal)?
}

/// Every route with its documentation (the only way a route is added: through
/// `OpenApiRouter::routes`, so none exists undocumented), and the document.
fn api() -> (Router<Arc<RestState>>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(metrics))
        .routes(routes!(ca_certificate))
        .routes(routes!(whoami))
        .routes(routes!(openapi::openapi_json))
        .merge(tenancy::routes())
        .merge(kmip::routes())
        .merge(certs::routes())
        .merge(audit::routes())
        .merge(users::routes())
        .merge(server_cert::routes())
        .merge(objects::routes())
        .split_for_parts();
    openapi::conventions(&mut doc);
    (router, doc)
}

/// The REST API: the routes of [`api`] and the web console's, axum's own 404
/// and 405 in the API's error form, the body limit, the request-id layer, and
/// the security headers around all of it.
pub fn router(state: Arc<RestState>) -> Router {
    let (routes, doc) = api();
    routes
        .merge(console::routes())
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .fallback(|| async { ApiError::not_found("endpoint") })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::layer,
        ))
        .layer(axum::Extension(openapi::Document::of(&doc)))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(request_id::layer))
        .layer(axum::middleware::from_fn(console::headers))
        .with_state(state)
}

/// The answer of `GET /v1/health`.
#[derive(Serialize, ToSchema)]
struct Health {
    /// Always `ok` when the server answers.
    status: HealthStatus,
}

/// The server's state.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum HealthStatus {
    /// It serves.
    Ok,
}

/// Whether the server answers (no login).
#[utoipa::path(
    get,
    path = "/v1/health",
    tag = "server",
    responses((status = 200, description = "The server answers", body = Health))
)]
async fn health() -> Json<Health> {
    Json(Health {
        status: HealthStatus::Ok,
    })
}

/// The answer of `GET /v1/ready`.
#[derive(Serialize, ToSchema)]
struct Readiness {
    /// `ready`, or `not-ready` with the reason.
    status: String,
    /// What failed (the store, the root of trust), when not ready.
    problem: Option<String>,
    /// Each check: whether it passed and how long it took.
    checks: ReadinessChecks,
}

/// The checks of `GET /v1/ready`.
#[derive(Serialize, ToSchema)]
struct ReadinessChecks {
    /// A cheap read of the store.
    store: StoreCheck,
    /// A throwaway key wrapped and unwrapped by the root of trust.
    root_of_trust: ReadinessCheck,
}

/// One check of `GET /v1/ready`.
#[derive(Serialize, ToSchema)]
struct ReadinessCheck {
    /// Whether it passed (within 2 seconds).
    ok: bool,
    /// How long it took, in milliseconds (for one that did not answer: how
    /// long it had been running).
    latency_ms: f64,
}

/// The store check of `GET /v1/ready`.
#[derive(Serialize, ToSchema)]
struct StoreCheck {
    /// Whether the store answered (within 2 seconds).
    ok: bool,
    /// How long it took, in milliseconds (for one that did not answer: how
    /// long it had been running).
    latency_ms: f64,
    /// Which database the store is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    backend: Option<crate::init::StoreBackend>,
}

fn milliseconds(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Whether this node can serve: the store answers and the root of trust
/// unwraps (no login; a load balancer's probe), with each check's outcome and
/// time. 503 when it cannot.
#[utoipa::path(
    get,
    path = "/v1/ready",
    tag = "server",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready: the store or the root of trust fails", body = Readiness),
    )
)]
async fn ready(State(state): State<Arc<RestState>>) -> Response {
    let found = crate::metrics::readiness(&state.shared).await;
    let body = Readiness {
        status: if found.is_ready() {
            "ready"
        } else {
            "not-ready"
        }
        .into(),
        problem: found.result().err(),
        checks: ReadinessChecks {
            store: StoreCheck {
                ok: found.store.ok(),
                latency_ms: milliseconds(found.store.latency),
                backend: state.shared.store_backend,
            },
            root_of_trust: ReadinessCheck {
                ok: found.root_of_trust.ok(),
                latency_ms: milliseconds(found.root_of_trust.latency),
            },
        },
    };
    if found.is_ready() {
        Json(body).into_response()
    } else {
        (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            axum::Extension(request_id::DocumentedBody),
            Json(body),
        )
            .into_response()
    }
}

/// Prometheus metrics: operations by kind and result, latencies, connections,
/// handshake and authentication failures, store latency (no login; counts
/// only, no identifiers).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "server",
    responses((
        status = 200,
        description = "Prometheus text format 0.0.4",
        body = String,
        content_type = "text/plain"
    ))
)]
async fn metrics(State(state): State<Arc<RestState>>) -> Response {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        crate::metrics::render(&state.shared.metrics),
    )
        .into_response()
}

/// Download the server's CA certificate, to trust the server (no login).
#[utoipa::path(
    get,
    path = "/v1/ca-certificate",
    tag = "server",
    responses((
        status = 200,
        description = "The server CA certificate, PEM",
        body = String,
        content_type = "application/x-pem-file"
    ))
)]
async fn ca_certificate(State(state): State<Arc<RestState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        state.ca_pem.clone(),
    )
        .into_response()
}

/// A user's role.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
enum RoleName {
    /// The provider's administrator: manages accounts.
    Sysadmin,
    /// An account's administrator: manages its groups and apps.
    AccountAdmin,
    /// Views an account's groups and apps, manages its objects.
    Member,
    /// Reads an account's objects' metadata and audit log.
    Auditor,
}

/// Who is calling.
#[derive(Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum WhoAmI {
    /// A person.
    User {
        /// Login name.
        name: String,
        /// Role.
        role: RoleName,
        /// Id of the account an account admin belongs to (none for a sysadmin).
        #[schema(format = Uuid)]
        account: Option<String>,
    },
    /// An app.
    App {
        /// The app's id.
        #[schema(format = Uuid)]
        id: String,
        /// The app's name.
        name: String,
        /// Id of its account.
        #[schema(format = Uuid)]
        account: String,
    },
}

/// Who the credentials sign in as: a user or an app.
#[utoipa::path(
    get,
    path = "/v1/whoami",
    tag = "server",
    security(("basic" = [])),
    responses(
        (status = 200, description = "The caller", body = WhoAmI),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
async fn whoami(principal: Principal) -> Json<WhoAmI> {
    Json(match principal {
        Principal::User(u) => WhoAmI::User {
            name: u.name,
            role: match u.role {
                skms_core::model::Role::Sysadmin => RoleName::Sysadmin,
                skms_core::model::Role::AccountAdmin => RoleName::AccountAdmin,
                skms_core::model::Role::Member => RoleName::Member,
                skms_core::model::Role::Auditor => RoleName::Auditor,
            },
            account: u.account.map(|a| a.to_string()),
        },
        Principal::App(c) => WhoAmI::App {
            id: c.audit_actor().1,
            name: c.as_app().map(|a| a.name.clone()).unwrap_or_default(),
            account: c.account.id.to_string(),
        },
    })
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
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
