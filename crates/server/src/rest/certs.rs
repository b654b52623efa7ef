//! Certificates over REST: the account CA issues an app a client certificate
//! and key (PEM or PKCS#12) or signs its CSR (vCenter's "KMS certificate and
//! private key" and "New Certificate Signing Request"); an account admin lists
//! every certificate of the account with its expiry and downloads the account
//! CA; anyone downloads the server's certificate chain (vCenter's "Make
//! vCenter trust KMS"). Pinning and trusting uploaded certificates are in
//! [`super::tenancy`].
//!
//! A private key made here leaves the server once, in the answer: it is never
//! stored nor logged, and the buffers this module fills with it (the key PEM,
//! the serialized JSON answer, the PKCS#12 file) are wiped when dropped.

use super::error::ErrorBody;
use super::extract::{ApiJson, ApiPath};
use super::tenancy::admin_app;
use super::{blocking, now, ApiError, ApiResult, Principal, RestState};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use skms_core::ca::{self, CertOrigin, CertRole, HeldCertificate, NewCertificate};
use std::collections::HashMap;
use std::sync::Arc;
use tracing::info;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use zeroize::Zeroizing;

/// The routes of this module, each with its documentation.
pub(super) fn routes() -> OpenApiRouter<Arc<RestState>> {
    OpenApiRouter::new()
        .routes(routes!(issue_certificate))
        .routes(routes!(sign_csr))
        .routes(routes!(list_certificates))
        .routes(routes!(account_ca))
        .routes(routes!(server_certificate))
}

/// The shortest PKCS#12 password accepted, in characters.
const MIN_PKCS12_PASSWORD: usize = 8;

/// The media type of a PKCS#12 file.
const PKCS12: &str = "application/x-pkcs12";

/// The media type of PEM text.
const PEM: &str = "application/x-pem-file";

/// How an issued certificate and its key are delivered.
#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum IssueFormat {
    /// JSON with the certificate, the key (unencrypted PKCS#8) and the CA chain as PEM.
    Pem,
    /// A PKCS#12 file (`application/x-pkcs12`) of the certificate, the key and
    /// the account CA, encrypted under `password`.
    Pkcs12,
}

/// A client certificate to issue (`POST /v1/apps/{app}/certificates`).
// No Debug: it holds the PKCS#12 password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct IssueRequest {
    /// Days the certificate is valid: 1 to 3650, within the account CA's validity.
    #[schema(minimum = 1, maximum = 3650, example = 365)]
    validity_days: u32,
    /// `pem` (JSON answer) or `pkcs12` (a PKCS#12 file).
    format: IssueFormat,
    /// The PKCS#12 password, at least 8 characters (`pkcs12` only).
    #[schema(min_length = 8)]
    password: Option<String>,
}

/// A certificate issued with its new private key (`format: "pem"`).
#[derive(Serialize, ToSchema)]
pub(super) struct IssuedPem<'a> {
    /// The client certificate (CN = the app's id, clientAuth), PEM.
    certificate_pem: String,
    /// Its private key, unencrypted PKCS#8 PEM (`BEGIN PRIVATE KEY`): shown
    /// only here, never stored.
    #[schema(value_type = String)]
    private_key_pem: &'a str,
    /// The account CA certificate that issued it, PEM.
    ca_chain_pem: String,
    /// The certificate's SHA-256 fingerprint, hex.
    sha256: String,
    /// End of validity, seconds since the Unix epoch.
    not_after: i64,
}

/// A certificate the account CA signed from a CSR.
#[derive(Serialize, ToSchema)]
pub(super) struct SignedCertificate {
    /// The certificate (the CSR's subject and key, clientAuth), PEM.
    certificate_pem: String,
    /// The account CA certificate that signed it, PEM.
    ca_chain_pem: String,
    /// The certificate's SHA-256 fingerprint, hex (it is pinned to the app).
    sha256: String,
    /// End of validity, seconds since the Unix epoch.
    not_after: i64,
}

impl From<&NewCertificate> for SignedCertificate {
    fn from(c: &NewCertificate) -> Self {
        SignedCertificate {
            certificate_pem: c.pem(),
            ca_chain_pem: ca_pem(c),
            sha256: hex::encode(c.sha256),
            not_after: c.not_after,
        }
    }
}

/// The account CA of a new certificate, as PEM.
fn ca_pem(c: &NewCertificate) -> String {
    let all = c.chain_pem();
    all[c.pem().len()..].to_string()
}

/// A CSR to sign (`POST /v1/apps/{app}/csr`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CsrRequest {
    /// One PKCS#10 request, PEM (`BEGIN CERTIFICATE REQUEST`), as vCenter's
    /// "New Certificate Signing Request" makes it: any subject, an RSA (2048 to
    /// 16384 bits), ECDSA (P-256, P-384, P-521) or Ed25519 key.
    #[schema(
        example = "-----BEGIN CERTIFICATE REQUEST-----\n…\n-----END CERTIFICATE REQUEST-----\n"
    )]
    csr_pem: String,
    /// Days the certificate is valid: 1 to 3650, within the account CA's validity.
    #[schema(minimum = 1, maximum = 3650, example = 365)]
    validity_days: u32,
}

/// What a certificate is to the account.
#[derive(Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub(super) enum CertRoleName {
    /// The account's CA.
    AccountCa,
    /// Pinned to an app by fingerprint.
    Pinned,
    /// A CA trusted to issue an app's client certificates.
    TrustedCa,
    /// Issued by the account CA to an app (CN = the app's id).
    Issued,
}

impl From<CertRole> for CertRoleName {
    fn from(r: CertRole) -> Self {
        match r {
            CertRole::AccountCa => CertRoleName::AccountCa,
            CertRole::Pinned => CertRoleName::Pinned,
            CertRole::TrustedCa => CertRoleName::TrustedCa,
            CertRole::Issued => CertRoleName::Issued,
        }
    }
}

/// Where a certificate came from.
#[derive(Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum CertOriginName {
    /// Uploaded by an admin.
    Uploaded,
    /// Issued by the account CA with a key it made.
    Issued,
    /// Signed by the account CA from a CSR.
    Signed,
}

impl From<CertOrigin> for CertOriginName {
    fn from(o: CertOrigin) -> Self {
        match o {
            CertOrigin::Uploaded => CertOriginName::Uploaded,
            CertOrigin::Issued => CertOriginName::Issued,
            CertOrigin::Signed => CertOriginName::Signed,
        }
    }
}

/// A certificate of the account, with its expiry.
#[derive(Serialize, ToSchema)]
pub(super) struct CertificateView {
    /// Subject distinguished name (null: only the fingerprint is known, for
    /// a certificate pinned before certificates were kept whole).
    subject: Option<String>,
    /// Issuer distinguished name (null: unknown).
    issuer: Option<String>,
    /// What it is to the account.
    role: CertRoleName,
    /// The id of the app that holds it (null: the account CA).
    #[schema(format = Uuid)]
    app: Option<String>,
    /// The name of that app.
    app_name: Option<String>,
    /// Where it came from (null: unknown).
    origin: Option<CertOriginName>,
    /// SHA-256 fingerprint, hex.
    sha256: String,
    /// End of validity, seconds since the Unix epoch (null: unknown).
    not_after: Option<i64>,
    /// Whole days until it expires, negative once expired (null: unknown).
    days_left: Option<i64>,
    /// It expires within 30 days, or has expired.
    expires_soon: bool,
}

impl CertificateView {
    fn of(held: &HeldCertificate, names: &HashMap<String, String>) -> Self {
        let app = held.app.map(|a| a.to_string());
        CertificateView {
            subject: held.info.as_ref().map(|i| i.subject.clone()),
            issuer: held.info.as_ref().map(|i| i.issuer.clone()),
            role: held.role.into(),
            app_name: app.as_ref().and_then(|a| names.get(a).cloned()),
            app,
            origin: held.origin.map(Into::into),
            sha256: hex::encode(held.sha256),
            not_after: held.info.as_ref().map(|i| i.not_after),
            days_left: held.days_left,
            expires_soon: held.days_left.is_some_and(|d| d < ca::EXPIRY_WARNING_DAYS),
        }
    }
}

/// The wire form of a body that holds key material: its buffer is wiped when
/// the last reference to it is dropped (what hyper and rustls copy out of it
/// is theirs).
fn secret_body(bytes: Zeroizing<Vec<u8>>) -> Body {
    Body::from(Bytes::from_owner(bytes))
}

/// `value` as JSON in a buffer that is wiped when dropped; reserved up front
/// (at least `hint` bytes) so that growing it leaves no copy behind.
fn secret_json(value: &impl Serialize, hint: usize) -> ApiResult<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::with_capacity(2 * hint + 4096));
    let capacity = out.capacity();
    serde_json::to_writer(&mut *out, value).map_err(ApiError::internal)?;
    if out.capacity() != capacity {
        // Not expected with the reserve above; refuse rather than leave a copy.
        return Err(ApiError::internal("the key answer outgrew its buffer"));
    }
    Ok(out)
}

/// Issue an app a client certificate and its private key (account admin).
///
/// The account CA issues a certificate with CN = the app's id and the
/// clientAuth usage, for a new ECDSA P-256 key (vCenter's "KMS certificate and
/// private key"). The app then trusts the account CA and authenticates by
/// certificate. The key is in this answer only: it is not kept. `format: "pem"`
/// answers JSON; `format: "pkcs12"` answers a PKCS#12 file encrypted under
/// `password` (AES-256-CBC, PBKDF2, SHA-256 MAC); convert it with
/// `openssl pkcs12 -in FILE -nodes` for a client that takes PEM.
#[utoipa::path(
    post,
    path = "/v1/apps/{app}/certificates",
    tag = "apps",
    security(("basic" = [])),
    params(("app" = uuid::Uuid, Path, description = "The app's id")),
    request_body = IssueRequest,
    responses(
        (status = 201, description = "The certificate and its key: JSON for `pem`, a PKCS#12 file for `pkcs12`", content(
            (IssuedPem = "application/json"),
            ("application/x-pkcs12"),
        )),
        (status = 400, description = "A bad body, validity, format or password", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an account admin", body = ErrorBody),
        (status = 404, description = "No such app in your account", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    )
)]
async fn issue_certificate(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<IssueRequest>,
) -> ApiResult<Response> {
    let account = principal.account_admin()?;
    let IssueRequest {
        validity_days,
        format,
        password,
    } = body;
    let password = password.map(Zeroizing::new);
    // Checked before anything is issued: a refusal leaves the app as it was.
    match (format, &password) {
        (IssueFormat::Pkcs12, None) => {
            return Err(ApiError::bad("a PKCS#12 file needs a password"));
        }
        (IssueFormat::Pkcs12, Some(p)) if p.chars().count() < MIN_PKCS12_PASSWORD => {
            return Err(ApiError::bad(format!(
                "the PKCS#12 password must be at least {MIN_PKCS12_PASSWORD} characters"
            )));
        }
        (IssueFormat::Pem, Some(_)) => {
            return Err(ApiError::bad(
                "a password is for the pkcs12 format only: the pem format answers an unencrypted key",
            ));
        }
        _ => {}
    }
    let (content_type, bytes) = blocking(move || {
        let store = &*state.shared.store;
        let mut app = admin_app(&state, account, &id)?;
        let issued = ca::issue_client_certificate(
            store,
            &state.shared.keyring,
            &mut app,
            validity_days,
            now(),
        )?;
        let cert = &issued.cert;
        info!(
            app = %app.id,
            sha256 = %hex::encode(cert.sha256),
            not_after = cert.not_after,
            format = match format { IssueFormat::Pem => "pem", IssueFormat::Pkcs12 => "pkcs12" },
            "client certificate issued"
        );
        match (format, password) {
            (IssueFormat::Pkcs12, Some(password)) => {
                let p12 = Zeroizing::new(ca::to_pkcs12(&issued, &password)?);
                Ok((PKCS12, p12))
            }
            _ => {
                let answer = IssuedPem {
                    certificate_pem: cert.pem(),
                    private_key_pem: issued.key_pem.as_str(),
                    ca_chain_pem: ca_pem(cert),
                    sha256: hex::encode(cert.sha256),
                    not_after: cert.not_after,
                };
                let hint = answer.certificate_pem.len()
                    + answer.private_key_pem.len()
                    + answer.ca_chain_pem.len();
                Ok(("application/json", secret_json(&answer, hint)?))
            }
        }
    })
    .await?;
    let mut response = (StatusCode::CREATED, secret_body(bytes)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // A key must not linger in a cache.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Sign an app's certificate signing request (account admin).
///
/// vCenter's "New Certificate Signing Request": vCenter keeps its key and sends
/// a PKCS#10 request, which the account CA signs (the request's subject and
/// key, clientAuth). The certificate is pinned to the app, which then
/// authenticates by certificate. A request whose signature does not verify, or
/// that is not valid PEM, is refused with the reason and nothing changes.
#[utoipa::path(
    post,
    path = "/v1/apps/{app}/csr",
    tag = "apps",
    security(("basic" = [])),
    params(("app" = uuid::Uuid, Path, description = "The app's id")),
    request_body = CsrRequest,
    responses(
        (status = 201, description = "The signed certificate and the CA chain", body = SignedCertificate),
        (status = 400, description = "A bad body or validity; a CSR that is not valid PEM, whose signature does not verify, whose key is not accepted, or whose CN is another app's id", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an account admin", body = ErrorBody),
        (status = 404, description = "No such app in your account", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    )
)]
async fn sign_csr(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CsrRequest>,
) -> ApiResult<(StatusCode, Json<SignedCertificate>)> {
    let account = principal.account_admin()?;
    let signed = blocking(move || {
        let mut app = admin_app(&state, account, &id)?;
        let cert = ca::sign_csr(
            &*state.shared.store,
            &state.shared.keyring,
            &mut app,
            &body.csr_pem,
            body.validity_days,
            now(),
        )?;
        info!(
            app = %app.id,
            sha256 = %hex::encode(cert.sha256),
            not_after = cert.not_after,
            "CSR signed and pinned"
        );
        Ok(SignedCertificate::from(&cert))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(signed)))
}

/// List every certificate of your account with its expiry (account admin).
///
/// The account CA, and for each app its pinned certificates, its trusted CAs
/// and the certificates the account CA issued it; soonest to expire first
/// (expired ones included), those of unknown expiry last.
#[utoipa::path(
    get,
    path = "/v1/certificates",
    tag = "apps",
    security(("basic" = [])),
    responses(
        (status = 200, description = "The account's certificates, by days left", body = [CertificateView]),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an account admin", body = ErrorBody),
    )
)]
async fn list_certificates(
    principal: Principal,
    State(state): State<Arc<RestState>>,
) -> ApiResult<Json<Vec<CertificateView>>> {
    let account = principal.account_admin()?;
    let views = blocking(move || {
        let store = &*state.shared.store;
        let held = ca::certificates(store, &state.shared.keyring, account, now())?;
        let names: HashMap<String, String> = store
            .apps(account)?
            .into_iter()
            .map(|a| (a.id.to_string(), a.name))
            .collect();
        let mut views: Vec<CertificateView> = held
            .iter()
            .map(|h| CertificateView::of(h, &names))
            .collect();
        // Stable: equal days keep the account CA first, then app by app.
        views.sort_by_key(|v| (v.days_left.is_none(), v.days_left));
        Ok(views)
    })
    .await?;
    Ok(Json(views))
}

/// Download your account's CA certificate (account admin).
///
/// The CA that issues and signs the account's client certificates; a client
/// that checks its own chain, or a system that must recognise the account's
/// certificates, trusts it.
#[utoipa::path(
    get,
    path = "/v1/account-ca",
    tag = "apps",
    security(("basic" = [])),
    responses(
        (status = 200, description = "The account CA certificate, PEM", body = String, content_type = "application/x-pem-file"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an account admin", body = ErrorBody),
    )
)]
async fn account_ca(
    principal: Principal,
    State(state): State<Arc<RestState>>,
) -> ApiResult<Response> {
    let account = principal.account_admin()?;
    let pem = blocking(move || {
        let found = ca::account_ca(&*state.shared.store, &state.shared.keyring, account, now())?;
        Ok(found.cert_pem())
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, PEM)], pem).into_response())
}

/// Download the server's certificate chain, to trust the KMS (no login).
///
/// The server certificate that KMIP and HTTPS present (`server.crt`), then
/// the server CA (vCenter's "Make vCenter trust KMS" / "Upload KMS
/// certificate"). With `kmip_legacy_cipher_suites` the KMIP port presents
/// `server-rsa.crt` instead, issued by the same CA.
#[utoipa::path(
    get,
    path = "/v1/server-certificate",
    tag = "server",
    responses((
        status = 200,
        description = "The server certificate then the server CA, PEM",
        body = String,
        content_type = "application/x-pem-file"
    ))
)]
async fn server_certificate(State(state): State<Arc<RestState>>) -> Response {
    // What is served now: a rotation or a reload changes it without a restart.
    match &state.shared.server_identity {
        Some(identity) => (
            [(header::CONTENT_TYPE, PEM)],
            identity.served().chain_pem.clone(),
        )
            .into_response(),
        None => ApiError::not_found("server certificate").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_json_answer_fits_its_buffer() {
        let key = "k".repeat(300);
        let answer = IssuedPem {
            certificate_pem: "c\n".repeat(400),
            private_key_pem: &key,
            ca_chain_pem: "a\n".repeat(400),
            sha256: "00".repeat(32),
            not_after: 1,
        };
        let json = secret_json(&answer, 300 + 800 + 800).unwrap();
        let back: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(back["private_key_pem"], key);
        assert_eq!(back["not_after"], 1);
    }
}
