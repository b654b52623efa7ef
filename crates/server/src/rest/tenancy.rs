//! Accounts (sysadmin), groups and apps (account admin): the tenancy module's
//! functions over REST.

use super::{blocking, now, ApiError, ApiResult, Principal, RestState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value as JsonValue};
use skms_core::ids::{AccountId, AppId, GroupId};
use skms_core::model::{Account, App, AuthMethod, Group, Role};
use skms_core::tenancy::{self, AppChanges, NewApp};
use std::sync::Arc;
use tracing::info;

/// The routes of this module.
pub(super) fn routes() -> Router<Arc<RestState>> {
    Router::new()
        .route("/v1/accounts", get(list_accounts).post(create_account))
        .route("/v1/groups", get(list_groups).post(create_group))
        .route("/v1/apps", get(list_apps).post(create_app))
        .route("/v1/apps/{app}", get(show_app).patch(update_app))
        .route("/v1/apps/{app}/credentials", get(app_credentials))
        .route("/v1/apps/{app}/secret", post(reset_app_secret))
        .route("/v1/apps/{app}/auth-method", put(set_auth_method))
        .route("/v1/apps/{app}/pinned-certificates", post(pin_certificates))
        .route("/v1/apps/{app}/trusted-cas", post(trust_cas))
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
