//! The server's own TLS certificate over REST: anyone signed in reads what
//! KMIP and HTTPS present now; the provider's sysadmin rotates it (a new key
//! and certificate from the server CA, for the same names, written to the
//! data directory and served to every new handshake at once; open connections
//! keep theirs). SIGHUP reloads it from the data directory instead (an
//! operator's own certificate, see [`crate::init`]).

use super::error::ErrorBody;
use super::{blocking, ApiError, ApiResult, Principal, RestState};
use crate::tls::{CertFacts, Served, ServerIdentity};
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use std::sync::Arc;
use tracing::info;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this module, each with its documentation.
pub(super) fn routes() -> OpenApiRouter<Arc<RestState>> {
    OpenApiRouter::new()
        .routes(routes!(server_tls_certificate))
        .routes(routes!(rotate_server_certificate))
}

/// One certificate the server presents.
#[derive(Serialize, ToSchema)]
pub(super) struct TlsCertificateView {
    /// Subject distinguished name.
    subject: String,
    /// Issuer distinguished name (the server CA, unless an operator put
    /// another CA's certificate in place).
    issuer: String,
    /// Serial number, hex.
    serial: String,
    /// The DNS names and IP addresses it is for (subjectAltName).
    names: Vec<String>,
    /// Start of validity, seconds since the Unix epoch.
    not_before: i64,
    /// End of validity, seconds since the Unix epoch.
    not_after: i64,
    /// SHA-256 fingerprint of the certificate, hex: what a TLS client sees.
    sha256: String,
}

impl From<&CertFacts> for TlsCertificateView {
    fn from(f: &CertFacts) -> Self {
        TlsCertificateView {
            subject: f.subject.clone(),
            issuer: f.issuer.clone(),
            serial: f.serial.clone(),
            names: f.names.clone(),
            not_before: f.not_before,
            not_after: f.not_after,
            sha256: f.sha256.clone(),
        }
    }
}

/// The certificates the server presents now.
#[derive(Serialize, ToSchema)]
pub(super) struct ServerTlsView {
    /// The certificate HTTPS and KMIP present (`server.crt`).
    certificate: TlsCertificateView,
    /// Its chain as presented (leaf first), PEM.
    chain_pem: String,
    /// With `kmip_legacy_cipher_suites`: the RSA certificate KMIP also
    /// presents (`server-rsa.crt`); null otherwise.
    rsa_certificate: Option<TlsCertificateView>,
}

impl From<&Served> for ServerTlsView {
    fn from(s: &Served) -> Self {
        ServerTlsView {
            certificate: (&s.primary).into(),
            chain_pem: s.chain_pem.clone(),
            rsa_certificate: s.rsa.as_ref().map(Into::into),
        }
    }
}

/// The server certificate of this server.
fn identity(state: &RestState) -> ApiResult<Arc<ServerIdentity>> {
    state
        .shared
        .server_identity
        .clone()
        .ok_or_else(|| ApiError::internal("this server was started without a server identity"))
}

/// The server's TLS certificate as KMIP and HTTPS present it now (any login).
#[utoipa::path(
    get,
    path = "/v1/server/certificate",
    tag = "server",
    security(("basic" = [])),
    responses(
        (status = 200, description = "The certificates presented now", body = ServerTlsView),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
async fn server_tls_certificate(
    _principal: Principal,
    State(state): State<Arc<RestState>>,
) -> ApiResult<Json<ServerTlsView>> {
    Ok(Json((&*identity(&state)?.served()).into()))
}

/// Rotate the server's TLS certificate (sysadmin).
///
/// The server CA issues a new certificate for the same names with a new key;
/// both are written to the data directory (crash-safely: never a key without
/// its certificate) and every new KMIP and HTTPS handshake presents it at
/// once, while open connections keep theirs. Clients that trust the server CA
/// need nothing new; clients that pinned the old certificate do.
#[utoipa::path(
    post,
    path = "/v1/server/certificate/rotate",
    tag = "server",
    security(("basic" = [])),
    responses(
        (status = 200, description = "The certificates presented from now on", body = ServerTlsView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a sysadmin", body = ErrorBody),
    )
)]
async fn rotate_server_certificate(
    principal: Principal,
    State(state): State<Arc<RestState>>,
) -> ApiResult<Json<ServerTlsView>> {
    let by = principal.sysadmin()?.name.clone();
    let identity = identity(&state)?;
    let served = blocking(move || identity.rotate().map_err(ApiError::internal)).await?;
    info!(%by, sha256 = %served.primary.sha256, "server certificate rotated through the REST API");
    Ok(Json((&*served).into()))
}
