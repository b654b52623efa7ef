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

use crate::kmip_listener::Shared;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value as JsonValue};
use skms_core::ids::{AccountId, AppId, GroupId};
use skms_core::model::{Account, App, AuthMethod, Group, Role, User};
use skms_core::ops::{self, Caller, Context};
use skms_core::store::StoreError;
use skms_core::tenancy::AppChanges;
use skms_core::tenancy::{self, NewApp, TenancyError};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, Semaphore};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

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
struct Peer(SocketAddr);

/// An error answer: a status and a message for a person, as `{"error": …}`.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl ApiError {
    fn bad(msg: impl Into<String>) -> Self {
        ApiError(StatusCode::BAD_REQUEST, msg.into())
    }
    fn forbidden(msg: impl Into<String>) -> Self {
        ApiError(StatusCode::FORBIDDEN, msg.into())
    }
    fn not_found(what: &str) -> Self {
        ApiError(StatusCode::NOT_FOUND, format!("no such {what}"))
    }
    fn internal(e: impl std::fmt::Display) -> Self {
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

type ApiResult<T> = Result<T, ApiError>;

/// Runs blocking store, hashing or sealing work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

/// Who is calling: a user (sysadmin or account admin) or an app.
#[derive(Clone)]
pub enum Principal {
    /// A person.
    User(User),
    /// A machine identity with its account.
    App(Box<Caller>),
}

impl FromRequestParts<Arc<RestState>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<RestState>,
    ) -> Result<Self, Self::Rejection> {
        let unauthorized = || {
            ApiError(
                StatusCode::UNAUTHORIZED,
                "authentication required: HTTP Basic with a user's name and password, or an app's UUID and secret".into(),
            )
        };
        let (name, password) = basic_credentials(&parts.headers).ok_or_else(unauthorized)?;
        let ip = parts
            .extensions
            .get::<Peer>()
            .map(|p| p.0.ip())
            .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
        let wait = state.shared.backoff.delay(ip);
        if !wait.is_zero() {
            debug!(%ip, ?wait, "slowing a source that failed authentication");
            tokio::time::sleep(wait).await;
        }
        let shared = state.shared.clone();
        let who = name.clone();
        let found = blocking(move || {
            let password = zeroize::Zeroizing::new(password);
            if let Ok(id) = who.trim().parse::<AppId>() {
                let app =
                    shared
                        .verified
                        .authenticate(&*shared.store, &id.to_string(), &password)?;
                let Some(app) = app.filter(|a| a.rest) else {
                    return Ok(None);
                };
                let Some(account) = shared.store.account(app.account)? else {
                    return Ok(None);
                };
                Ok(Some(Principal::App(Box::new(Caller { app, account }))))
            } else {
                Ok(tenancy::authenticate_user(&*shared.store, &who, &password)?
                    .map(Principal::User))
            }
        })
        .await?;
        match found {
            Some(p) => {
                state.shared.backoff.success(ip);
                Ok(p)
            }
            None => {
                state.shared.backoff.failure(ip);
                warn!(%ip, user = %name, "REST authentication failed");
                Err(unauthorized())
            }
        }
    }
}

/// The name and password of an `Authorization: Basic` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > 1024 {
        return None;
    }
    let decoded = zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?,
    );
    let text = std::str::from_utf8(&decoded).ok()?;
    let (name, password) = text.split_once(':')?;
    Some((name.to_string(), password.to_string()))
}

impl Principal {
    fn sysadmin(&self) -> ApiResult<&User> {
        match self {
            Principal::User(u) if u.role == Role::Sysadmin => Ok(u),
            _ => Err(ApiError::forbidden("only a sysadmin may do this")),
        }
    }

    /// The account an account admin manages.
    fn account_admin(&self) -> ApiResult<AccountId> {
        match self {
            Principal::User(User {
                role: Role::AccountAdmin,
                account: Some(a),
                ..
            }) => Ok(*a),
            _ => Err(ApiError::forbidden("only an account admin may do this")),
        }
    }
}

/// The REST routes.
pub fn router(state: Arc<RestState>) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/ca-certificate", get(ca_certificate))
        .route("/v1/whoami", get(whoami))
        .route("/v1/accounts", get(list_accounts).post(create_account))
        .route("/v1/groups", get(list_groups).post(create_group))
        .route("/v1/apps", get(list_apps).post(create_app))
        .route("/v1/apps/{app}", get(show_app).patch(update_app))
        .route("/v1/apps/{app}/credentials", get(app_credentials))
        .route("/v1/apps/{app}/secret", post(reset_app_secret))
        .route("/v1/apps/{app}/auth-method", put(set_auth_method))
        .route("/v1/apps/{app}/pinned-certificates", post(pin_certificates))
        .route("/v1/apps/{app}/trusted-cas", post(trust_cas))
        .route("/kmip", post(kmip_https))
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

fn account_json(a: &Account) -> JsonValue {
    json!({ "id": a.id.to_string(), "name": a.name, "enabled": a.enabled, "created": a.created })
}

fn group_json(g: &Group) -> JsonValue {
    json!({ "id": g.id.to_string(), "name": g.name, "description": g.description, "created": g.created })
}

fn app_json(a: &App) -> JsonValue {
    let mut interfaces = Vec::new();
    if a.kmip {
        interfaces.push("kmip");
    }
    if a.rest {
        interfaces.push("rest");
    }
    json!({
        "id": a.id.to_string(),
        "name": a.name,
        "description": a.description,
        "interfaces": interfaces,
        "auth_method": a.auth_method.as_str(),
        "groups": a.groups.iter().map(|g| g.to_string()).collect::<Vec<_>>(),
        "default_group": a.default_group.to_string(),
        "enabled": a.enabled,
        "pinned_certificates": a.pinned_certs.iter().map(hex::encode).collect::<Vec<_>>(),
        "trusted_cas": a.trusted_cas.iter().map(|der| {
            skms_core::certs::inspect(der).map(|i| i.subject).unwrap_or_else(|e| e)
        }).collect::<Vec<_>>(),
        "created": a.created,
    })
}

fn credentials_json(app: &App, secret: &skms_core::secrets::AppSecret) -> JsonValue {
    json!({ "username": app.id.to_string(), "password": secret.expose() })
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn list_accounts(
    principal: Principal,
    State(state): State<Arc<RestState>>,
) -> ApiResult<Json<JsonValue>> {
    principal.sysadmin()?;
    let accounts = blocking(move || Ok(state.shared.store.accounts()?)).await?;
    Ok(Json(JsonValue::Array(
        accounts.iter().map(account_json).collect(),
    )))
}

/// `POST /v1/accounts`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccount {
    name: String,
    /// Login name of the account's first admin (default `<name>-admin`, lower case).
    admin: Option<String>,
}

async fn create_account(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    Json(body): Json<NewAccount>,
) -> ApiResult<(StatusCode, Json<JsonValue>)> {
    let by = principal.sysadmin()?.name.clone();
    let admin = body.admin.clone().unwrap_or_else(|| {
        let base: String = body
            .name
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        format!("{base}-admin")
    });
    let out = blocking(move || {
        let store = &*state.shared.store;
        // The admin's name is checked first, so a bad one leaves no account behind.
        if store.user_by_name(&admin)?.is_some() {
            return Err(ApiError(
                StatusCode::CONFLICT,
                format!("the login name {admin:?} is already taken"),
            ));
        }
        let (account, group) =
            tenancy::create_account(store, state.shared.keyring.root(), &body.name, now())?;
        let (user, password) =
            tenancy::create_user(store, Some(account.id), &admin, Role::AccountAdmin, now())?;
        info!(account = %account.name, id = %account.id, admin = %user.name, by = %by, "account created");
        Ok(json!({
            "account": account_json(&account),
            "default_group": group_json(&group),
            "admin": { "username": user.name, "password": password.expose() },
        }))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

async fn list_groups(
    principal: Principal,
    State(state): State<Arc<RestState>>,
) -> ApiResult<Json<JsonValue>> {
    let account = principal.account_admin()?;
    let groups = blocking(move || Ok(state.shared.store.groups(account)?)).await?;
    Ok(Json(JsonValue::Array(
        groups.iter().map(group_json).collect(),
    )))
}

/// `POST /v1/groups`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewGroup {
    name: String,
    #[serde(default)]
    description: String,
}

async fn create_group(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    Json(body): Json<NewGroup>,
) -> ApiResult<(StatusCode, Json<JsonValue>)> {
    let account = principal.account_admin()?;
    let group = blocking(move || {
        Ok(tenancy::create_group(
            &*state.shared.store,
            account,
            &body.name,
            &body.description,
            now(),
        )?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(group_json(&group))))
}

async fn list_apps(
    principal: Principal,
    State(state): State<Arc<RestState>>,
) -> ApiResult<Json<JsonValue>> {
    let account = principal.account_admin()?;
    let apps = blocking(move || Ok(state.shared.store.apps(account)?)).await?;
    Ok(Json(JsonValue::Array(apps.iter().map(app_json).collect())))
}

/// `POST /v1/apps`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAppBody {
    name: String,
    #[serde(default)]
    description: String,
    /// `kmip` and/or `rest` (default: KMIP only).
    interfaces: Option<Vec<String>>,
    /// `api-key` (default) or `certificate`.
    auth_method: Option<String>,
    /// Groups by id or name (default: the account's default group).
    #[serde(default)]
    groups: Vec<String>,
    /// Where its new objects go, by id or name (default: the first of `groups`).
    default_group: Option<String>,
}

fn parse_method(s: &str) -> ApiResult<AuthMethod> {
    AuthMethod::parse(s.trim()).ok_or_else(|| {
        ApiError::bad(format!(
            "unknown authentication method {s:?}: use api-key or certificate"
        ))
    })
}

/// The (KMIP, REST) flags of an interface list.
fn parse_interfaces(interfaces: &[String]) -> ApiResult<(bool, bool)> {
    let (mut kmip, mut rest) = (false, false);
    for i in interfaces {
        match i.trim().to_lowercase().as_str() {
            "kmip" => kmip = true,
            "rest" => rest = true,
            other => {
                return Err(ApiError::bad(format!(
                    "unknown interface {other:?}: use kmip and/or rest"
                )))
            }
        }
    }
    Ok((kmip, rest))
}

/// A group of `account` named by id or name.
fn find_group(groups: &[Group], wanted: &str) -> ApiResult<GroupId> {
    groups
        .iter()
        .find(|g| g.id.to_string() == wanted.trim().to_lowercase() || g.name == wanted.trim())
        .map(|g| g.id)
        .ok_or_else(|| ApiError::bad(format!("no group {wanted:?} in this account")))
}

async fn create_app(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    Json(body): Json<NewAppBody>,
) -> ApiResult<(StatusCode, Json<JsonValue>)> {
    let account = principal.account_admin()?;
    let (kmip, rest) = parse_interfaces(&body.interfaces.unwrap_or_else(|| vec!["kmip".into()]))?;
    let auth_method = parse_method(body.auth_method.as_deref().unwrap_or("api-key"))?;
    let out = blocking(move || {
        let store = &*state.shared.store;
        let all = store.groups(account)?;
        let groups = body
            .groups
            .iter()
            .map(|g| find_group(&all, g))
            .collect::<ApiResult<Vec<_>>>()?;
        let default_group = body
            .default_group
            .as_deref()
            .map(|g| find_group(&all, g))
            .transpose()?;
        let new = NewApp {
            name: body.name,
            description: body.description,
            kmip,
            rest,
            auth_method,
            groups,
            default_group,
        };
        let (app, secret) = tenancy::create_app(store, &state.shared.keyring, account, new, now())?;
        info!(app = %app.name, id = %app.id, account = %account, "app created");
        Ok(json!({ "app": app_json(&app), "credentials": credentials_json(&app, &secret) }))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// The app `id` of the admin's account; another account's app is "no such app".
fn admin_app(state: &RestState, account: AccountId, id: &str) -> ApiResult<App> {
    let id: AppId = id.trim().parse().map_err(|_| ApiError::not_found("app"))?;
    state
        .shared
        .store
        .app(id)?
        .filter(|a| a.account == account)
        .ok_or_else(|| ApiError::not_found("app"))
}

async fn show_app(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<JsonValue>> {
    let account = principal.account_admin()?;
    let app = blocking(move || admin_app(&state, account, &id)).await?;
    Ok(Json(app_json(&app)))
}

/// `PATCH /v1/apps/{app}`: what is given changes, the rest stays.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppPatch {
    description: Option<String>,
    interfaces: Option<Vec<String>>,
    groups: Option<Vec<String>>,
    default_group: Option<String>,
    enabled: Option<bool>,
}

async fn update_app(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    Path(id): Path<String>,
    Json(body): Json<AppPatch>,
) -> ApiResult<Json<JsonValue>> {
    let account = principal.account_admin()?;
    let interfaces = body
        .interfaces
        .as_deref()
        .map(parse_interfaces)
        .transpose()?;
    let app = blocking(move || {
        let store = &*state.shared.store;
        let mut app = admin_app(&state, account, &id)?;
        let all = store.groups(account)?;
        let changes = AppChanges {
            description: body.description,
            kmip: interfaces.map(|i| i.0),
            rest: interfaces.map(|i| i.1),
            groups: body
                .groups
                .map(|gs| gs.iter().map(|g| find_group(&all, g)).collect())
                .transpose()?,
            default_group: body
                .default_group
                .map(|g| find_group(&all, &g))
                .transpose()?,
            enabled: body.enabled,
        };
        tenancy::update_app(store, &mut app, changes)?;
        info!(app = %app.id, enabled = app.enabled, "app updated");
        Ok(app)
    })
    .await?;
    Ok(Json(app_json(&app)))
}

async fn app_credentials(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<JsonValue>> {
    let account = principal.account_admin()?;
    let by = match &principal {
        Principal::User(u) => u.name.clone(),
        Principal::App(_) => String::new(),
    };
    let out = blocking(move || {
        let app = admin_app(&state, account, &id)?;
        let secret = tenancy::app_secret(&*state.shared.store, &state.shared.keyring, &app)?;
        info!(app = %app.id, by = %by, "app credentials viewed");
        Ok(credentials_json(&app, &secret))
    })
    .await?;
    Ok(Json(out))
}

async fn reset_app_secret(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<JsonValue>> {
    let account = principal.account_admin()?;
    let out = blocking(move || {
        let mut app = admin_app(&state, account, &id)?;
        let secret = tenancy::reset_secret(&*state.shared.store, &state.shared.keyring, &mut app)?;
        info!(app = %app.id, "app secret reset");
        Ok(credentials_json(&app, &secret))
    })
    .await?;
    Ok(Json(out))
}

/// `PUT /v1/apps/{app}/auth-method`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MethodBody {
    auth_method: String,
}

async fn set_auth_method(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    Path(id): Path<String>,
    Json(body): Json<MethodBody>,
) -> ApiResult<Json<JsonValue>> {
    let account = principal.account_admin()?;
    let method = parse_method(&body.auth_method)?;
    let app = blocking(move || {
        let mut app = admin_app(&state, account, &id)?;
        tenancy::set_auth_method(&*state.shared.store, &mut app, method)?;
        Ok(app)
    })
    .await?;
    Ok(Json(app_json(&app)))
}

/// The certificates of a PEM body.
fn pem_body(body: &Bytes) -> ApiResult<Vec<Vec<u8>>> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad("the body must be PEM text (CERTIFICATE blocks)"))?;
    skms_core::certs::from_pem(text).map_err(ApiError::bad)
}

/// What an uploaded certificate becomes for the app.
#[derive(Clone, Copy)]
enum CertUse {
    /// Pinned by fingerprint.
    Pin,
    /// Trusted as an issuing CA.
    TrustCa,
}

/// Pins or trusts every certificate of a PEM body for the admin's app `id`;
/// answers what was done to each and the app.
async fn add_certificates(
    principal: Principal,
    state: Arc<RestState>,
    id: String,
    body: Bytes,
    how: CertUse,
) -> ApiResult<Json<JsonValue>> {
    let account = principal.account_admin()?;
    let certs = pem_body(&body)?;
    let out = blocking(move || {
        let store = &*state.shared.store;
        let mut app = admin_app(&state, account, &id)?;
        let mut done = Vec::new();
        for der in &certs {
            done.push(match how {
                CertUse::Pin => {
                    let fp = hex::encode(tenancy::pin_certificate(store, &mut app, der)?);
                    info!(app = %app.id, sha256 = %fp, "certificate pinned");
                    fp
                }
                CertUse::TrustCa => {
                    let subject = tenancy::trust_ca(store, &mut app, der)?.subject;
                    info!(app = %app.id, ca = %subject, "CA trusted");
                    subject
                }
            });
        }
        let key = match how {
            CertUse::Pin => "pinned",
            CertUse::TrustCa => "trusted",
        };
        Ok(json!({ key: done, "app": app_json(&app) }))
    })
    .await?;
    Ok(Json(out))
}

async fn pin_certificates(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<JsonValue>> {
    add_certificates(principal, state, id, body, CertUse::Pin).await
}

async fn trust_cas(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<JsonValue>> {
    add_certificates(principal, state, id, body, CertUse::TrustCa).await
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
            _ => Err(ApiError(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "KMIP over HTTPS takes application/octet-stream (TTLV), application/json or text/xml".into(),
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

/// `POST /kmip`: KMIP over HTTPS for apps allowed REST: one request message in
/// binary TTLV, JSON or XML, answered in the same encoding by the same
/// operations as KMIP over TLS.
async fn kmip_https(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let Principal::App(caller) = principal else {
        return Err(ApiError::forbidden(
            "only an app allowed the REST interface may send KMIP",
        ));
    };
    let encoding = Encoding::of(&headers)?;
    let shared = state.shared.clone();
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
            Ok(request) => ops::handle_message(&ctx, Some(&*caller), request),
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
