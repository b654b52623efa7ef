//! Accounts (sysadmin), groups and apps (account admin): the tenancy module's
//! functions over REST. What is sent is typed (`…View`, [`Credentials`], …),
//! so the OpenAPI schema describes exactly the bodies.

use super::error::ErrorBody;
use super::extract::{ApiBytes, ApiJson, ApiPath};
use super::{blocking, now, ApiError, ApiResult, Principal, RestState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use skms_core::access::Action;
use skms_core::ca;
use skms_core::ids::{AccountId, AppId, GroupId};
use skms_core::model::{Account, App, AuthMethod, Group, Role};
use skms_core::tenancy::{self, AppChanges, NewApp};
use std::sync::Arc;
use tracing::info;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this module, each with its documentation.
pub(super) fn routes() -> OpenApiRouter<Arc<RestState>> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts, create_account))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(list_apps, create_app))
        .routes(routes!(show_app, update_app))
        .routes(routes!(app_credentials))
        .routes(routes!(reset_app_secret))
        .routes(routes!(set_auth_method))
        .routes(routes!(pin_certificates))
        .routes(routes!(trust_cas))
}

/// An account (a tenant).
#[derive(Serialize, ToSchema)]
pub(super) struct AccountView {
    /// Its id.
    #[schema(format = Uuid)]
    id: String,
    /// Its unique name.
    name: String,
    /// Whether its apps and admins may sign in.
    enabled: bool,
    /// When it was created, in seconds since the Unix epoch.
    created: i64,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        AccountView {
            id: a.id.to_string(),
            name: a.name.clone(),
            enabled: a.enabled,
            created: a.created,
        }
    }
}

/// A group: a container of security objects in an account.
#[derive(Serialize, ToSchema)]
pub(super) struct GroupView {
    /// Its id.
    #[schema(format = Uuid)]
    id: String,
    /// Its name, unique in the account.
    name: String,
    /// Free text.
    description: String,
    /// When it was created, in seconds since the Unix epoch.
    created: i64,
}

impl From<&Group> for GroupView {
    fn from(g: &Group) -> Self {
        GroupView {
            id: g.id.to_string(),
            name: g.name.clone(),
            description: g.description.clone(),
            created: g.created,
        }
    }
}

/// An interface an app may use.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum Interface {
    /// KMIP over TLS (port 5696).
    Kmip,
    /// The REST API, including KMIP over HTTPS (`POST /kmip`).
    Rest,
}

/// How an app authenticates.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub(super) enum AuthMethodName {
    /// Its UUID and secret (KMIP Credential or HTTP Basic).
    ApiKey,
    /// A client certificate: pinned, or issued by a CA it trusts with its UUID as CN.
    Certificate,
}

impl From<AuthMethod> for AuthMethodName {
    fn from(m: AuthMethod) -> Self {
        match m {
            AuthMethod::ApiKey => AuthMethodName::ApiKey,
            AuthMethod::Certificate => AuthMethodName::Certificate,
        }
    }
}

/// An app: a machine identity (vCenter, a database…) of an account.
#[derive(Serialize, ToSchema)]
pub(super) struct AppView {
    /// Its id, also its username (KMIP Credential, HTTP Basic).
    #[schema(format = Uuid)]
    id: String,
    /// Its name, unique in the account.
    name: String,
    /// Free text.
    description: String,
    /// The interfaces it may use.
    interfaces: Vec<Interface>,
    /// How it authenticates.
    auth_method: AuthMethodName,
    /// The ids of the groups it may use.
    #[schema(value_type = Vec<uuid::Uuid>)]
    groups: Vec<String>,
    /// The id of the group its new objects go to.
    #[schema(format = Uuid)]
    default_group: String,
    /// Whether it may authenticate.
    enabled: bool,
    /// SHA-256 fingerprints (hex) of its pinned client certificates.
    pinned_certificates: Vec<String>,
    /// Subjects of the CAs it trusts.
    trusted_cas: Vec<String>,
    /// When it was created, in seconds since the Unix epoch.
    created: i64,
}

impl From<&App> for AppView {
    fn from(a: &App) -> Self {
        let mut interfaces = Vec::new();
        if a.kmip {
            interfaces.push(Interface::Kmip);
        }
        if a.rest {
            interfaces.push(Interface::Rest);
        }
        AppView {
            id: a.id.to_string(),
            name: a.name.clone(),
            description: a.description.clone(),
            interfaces,
            auth_method: a.auth_method.into(),
            groups: a.groups.iter().map(|g| g.to_string()).collect(),
            default_group: a.default_group.to_string(),
            enabled: a.enabled,
            pinned_certificates: a.pinned_certs.iter().map(hex::encode).collect(),
            trusted_cas: a
                .trusted_cas
                .iter()
                .map(|der| {
                    skms_core::certs::inspect(der)
                        .map(|i| i.subject)
                        .unwrap_or_else(|e| e)
                })
                .collect(),
            created: a.created,
        }
    }
}

/// An app's credentials: its UUID and secret (KMIP Username and Password; HTTP Basic).
#[derive(Serialize, ToSchema)]
pub(super) struct Credentials {
    /// The app's id.
    #[schema(format = Uuid)]
    username: String,
    /// The app's secret.
    password: String,
}

impl Credentials {
    fn of(app: &App, secret: &skms_core::secrets::AppSecret) -> Self {
        Credentials {
            username: app.id.to_string(),
            password: secret.expose().to_string(),
        }
    }
}

/// A user's login name and password.
#[derive(Serialize, ToSchema)]
pub(super) struct Login {
    /// The login name.
    username: String,
    /// The password (shown once).
    password: String,
}

/// A new account: it, its default group and its first admin's login.
#[derive(Serialize, ToSchema)]
pub(super) struct AccountCreated {
    /// The account.
    account: AccountView,
    /// The group every account starts with.
    default_group: GroupView,
    /// The account admin's login; the password is shown only here.
    admin: Login,
}

/// A new app and its credentials.
#[derive(Serialize, ToSchema)]
pub(super) struct AppCreated {
    /// The app.
    app: AppView,
    /// Its credentials.
    credentials: Credentials,
}

/// Certificates pinned to an app.
#[derive(Serialize, ToSchema)]
pub(super) struct PinnedCertificates {
    /// SHA-256 fingerprints (hex) of the certificates of the body, in order.
    pinned: Vec<String>,
    /// The app afterwards.
    app: AppView,
}

/// CAs an app now trusts.
#[derive(Serialize, ToSchema)]
pub(super) struct TrustedCas {
    /// Subjects of the CA certificates of the body, in order.
    trusted: Vec<String>,
    /// The app afterwards.
    app: AppView,
}

/// List the accounts (sysadmin).
#[utoipa::path(
    get,
    path = "/v1/accounts",
    tag = "accounts",
    security(("basic" = [])),
    responses(
        (status = 200, description = "Every account", body = [AccountView]),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a sysadmin", body = ErrorBody),
    )
)]
async fn list_accounts(
    principal: Principal,
    State(state): State<Arc<RestState>>,
) -> ApiResult<Json<Vec<AccountView>>> {
    principal.sysadmin()?;
    let accounts = blocking(move || Ok(state.shared.store.accounts()?)).await?;
    Ok(Json(accounts.iter().map(AccountView::from).collect()))
}

/// A new account (`POST /v1/accounts`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewAccount {
    /// Unique name of the account: 1 to 200 bytes (UTF-8), not only spaces, no control characters.
    #[schema(min_length = 1, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    name: String,
    /// Login name of the account's first admin: 1 to 64 of letters, digits, `-_.@`
    /// (default: the name in lower case, other characters as `-`, then `-admin`).
    #[schema(pattern = r"^[A-Za-z0-9._@-]{1,64}$")]
    admin: Option<String>,
}

/// The longest login name (as core's tenancy checks it).
const MAX_LOGIN: usize = 64;

/// Whether `name` is a login name core's tenancy accepts: checked before the
/// account is made, so that a bad one leaves no account without an admin.
fn login_name_ok(name: &str) -> bool {
    (1..=MAX_LOGIN).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
}

/// The default admin login of account `name`: `<name>-admin`, lower case, other
/// characters as `-`, the name part shortened to fit a login name.
fn default_admin(name: &str) -> String {
    const SUFFIX: &str = "-admin";
    let base: String = name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(MAX_LOGIN - SUFFIX.len())
        .collect();
    format!("{base}{SUFFIX}")
}

/// Create an account with its key, its default group and its first admin (sysadmin).
#[utoipa::path(
    post,
    path = "/v1/accounts",
    tag = "accounts",
    security(("basic" = [])),
    request_body = NewAccount,
    responses(
        (status = 201, description = "The account, its default group and its admin's login (the password is shown once)", body = AccountCreated),
        (status = 400, description = "A bad body or name", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a sysadmin", body = ErrorBody),
        (status = 409, description = "The account name or the admin login is taken", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    )
)]
async fn create_account(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiJson(body): ApiJson<NewAccount>,
) -> ApiResult<(StatusCode, Json<AccountCreated>)> {
    let by = principal.sysadmin()?.name.clone();
    let admin = body
        .admin
        .clone()
        .unwrap_or_else(|| default_admin(&body.name));
    if !login_name_ok(&admin) {
        return Err(ApiError::bad(format!(
            "the admin login {admin:?} must be 1 to {MAX_LOGIN} characters among letters, digits, - _ . @"
        )));
    }
    let out = blocking(move || {
        let store = &*state.shared.store;
        // The admin's name is checked first, so a bad one leaves no account behind.
        if store.user_by_name(&admin)?.is_some() {
            return Err(ApiError::conflict(format!(
                "the login name {admin:?} is already taken"
            )));
        }
        let (account, group) =
            tenancy::create_account(store, state.shared.keyring.root(), &body.name, now())?;
        let (user, password) =
            tenancy::create_user(store, Some(account.id), &admin, Role::AccountAdmin, now())?;
        info!(account = %account.name, id = %account.id, admin = %user.name, by = %by, "account created");
        Ok(AccountCreated {
            account: (&account).into(),
            default_group: (&group).into(),
            admin: Login {
                username: user.name,
                password: password.expose().to_string(),
            },
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// List the groups of your account (account admin).
#[utoipa::path(
    get,
    path = "/v1/groups",
    tag = "groups",
    security(("basic" = [])),
    responses(
        (status = 200, description = "The account's groups", body = [GroupView]),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an account admin", body = ErrorBody),
    )
)]
async fn list_groups(
    principal: Principal,
    State(state): State<Arc<RestState>>,
) -> ApiResult<Json<Vec<GroupView>>> {
    let account = principal.may(Action::ViewGroups)?;
    let groups = blocking(move || Ok(state.shared.store.groups(account)?)).await?;
    Ok(Json(groups.iter().map(GroupView::from).collect()))
}

/// A new group (`POST /v1/groups`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewGroup {
    /// Name, unique in the account: 1 to 200 bytes (UTF-8), not only spaces, no control characters.
    #[schema(min_length = 1, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    name: String,
    /// Free text.
    #[serde(default)]
    description: String,
}

/// Create a group in your account (account admin).
#[utoipa::path(
    post,
    path = "/v1/groups",
    tag = "groups",
    security(("basic" = [])),
    request_body = NewGroup,
    responses(
        (status = 201, description = "The group", body = GroupView),
        (status = 400, description = "A bad body or name", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an account admin", body = ErrorBody),
        (status = 409, description = "The name is taken in the account", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    )
)]
async fn create_group(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiJson(body): ApiJson<NewGroup>,
) -> ApiResult<(StatusCode, Json<GroupView>)> {
    let account = principal.may(Action::ManageGroups)?;
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
    Ok((StatusCode::CREATED, Json((&group).into())))
}

/// List the apps of your account (account admin).
#[utoipa::path(
    get,
    path = "/v1/apps",
    tag = "apps",
    security(("basic" = [])),
    responses(
        (status = 200, description = "The account's apps", body = [AppView]),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an account admin", body = ErrorBody),
    )
)]
async fn list_apps(
    principal: Principal,
    State(state): State<Arc<RestState>>,
) -> ApiResult<Json<Vec<AppView>>> {
    let account = principal.may(Action::ViewApps)?;
    let apps = blocking(move || Ok(state.shared.store.apps(account)?)).await?;
    Ok(Json(apps.iter().map(AppView::from).collect()))
}

/// A new app (`POST /v1/apps`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewAppBody {
    /// Name, unique in the account: 1 to 200 bytes (UTF-8), not only spaces, no control characters.
    #[schema(min_length = 1, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    name: String,
    /// Free text.
    #[serde(default)]
    description: String,
    /// `kmip` and/or `rest` (default: KMIP only).
    #[schema(example = json!(["kmip", "rest"]))]
    interfaces: Option<Vec<String>>,
    /// `api-key` (default) or `certificate`.
    #[schema(example = "api-key")]
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

/// Create an app in your account and get its credentials (account admin).
#[utoipa::path(
    post,
    path = "/v1/apps",
    tag = "apps",
    security(("basic" = [])),
    request_body = NewAppBody,
    responses(
        (status = 201, description = "The app and its credentials", body = AppCreated),
        (status = 400, description = "A bad body, name, interface, method or group", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an account admin", body = ErrorBody),
        (status = 409, description = "The name is taken in the account", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    )
)]
async fn create_app(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiJson(body): ApiJson<NewAppBody>,
) -> ApiResult<(StatusCode, Json<AppCreated>)> {
    let account = principal.may(Action::ManageApps)?;
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
        Ok(AppCreated {
            app: (&app).into(),
            credentials: Credentials::of(&app, &secret),
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// The app `id` of the admin's account; another account's app is "no such app".
pub(super) fn admin_app(state: &RestState, account: AccountId, id: &str) -> ApiResult<App> {
    let id: AppId = id.trim().parse().map_err(|_| ApiError::not_found("app"))?;
    state
        .shared
        .store
        .app(id)?
        .filter(|a| a.account == account)
        .ok_or_else(|| ApiError::not_found("app"))
}

/// Show an app of your account (account admin).
#[utoipa::path(
    get,
    path = "/v1/apps/{app}",
    tag = "apps",
    security(("basic" = [])),
    params(("app" = uuid::Uuid, Path, description = "The app's id")),
    responses(
        (status = 200, description = "The app", body = AppView),
        (status = 400, description = "An undecodable path", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an account admin", body = ErrorBody),
        (status = 404, description = "No such app in your account", body = ErrorBody),
    )
)]
async fn show_app(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<AppView>> {
    let account = principal.may(Action::ViewApps)?;
    let app = blocking(move || admin_app(&state, account, &id)).await?;
    Ok(Json((&app).into()))
}

/// Changes to an app (`PATCH /v1/apps/{app}`): what is given changes, the rest stays.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AppPatch {
    /// Free text.
    description: Option<String>,
    /// `kmip` and/or `rest` (replaces the current ones).
    #[schema(example = json!(["kmip"]))]
    interfaces: Option<Vec<String>>,
    /// Groups by id or name (replaces the current ones; its objects stay where they are).
    groups: Option<Vec<String>>,
    /// Where its new objects go, by id or name.
    default_group: Option<String>,
    /// Whether it may authenticate.
    enabled: Option<bool>,
}

/// Change an app of your account: what is given changes, the rest stays (account admin).
#[utoipa::path(
    patch,
    path = "/v1/apps/{app}",
    tag = "apps",
    security(("basic" = [])),
    params(("app" = uuid::Uuid, Path, description = "The app's id")),
    request_body = AppPatch,
    responses(
        (status = 200, description = "The app afterwards", body = AppView),
        (status = 400, description = "A bad body, interface or group", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an account admin", body = ErrorBody),
        (status = 404, description = "No such app in your account", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    )
)]
async fn update_app(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AppPatch>,
) -> ApiResult<Json<AppView>> {
    let account = principal.may(Action::ManageApps)?;
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
    Ok(Json((&app).into()))
}

/// Show an app's credentials: its UUID and secret (account admin).
#[utoipa::path(
    get,
    path = "/v1/apps/{app}/credentials",
    tag = "apps",
    security(("basic" = [])),
    params(("app" = uuid::Uuid, Path, description = "The app's id")),
    responses(
        (status = 200, description = "The app's credentials", body = Credentials),
        (status = 400, description = "An undecodable path", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an account admin", body = ErrorBody),
        (status = 404, description = "No such app in your account", body = ErrorBody),
    )
)]
async fn app_credentials(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Credentials>> {
    let account = principal.may(Action::ViewAppCredentials)?;
    let by = match &principal {
        Principal::User(u) => u.name.clone(),
        Principal::App(_) => String::new(),
    };
    let out = blocking(move || {
        let app = admin_app(&state, account, &id)?;
        let secret = tenancy::app_secret(&*state.shared.store, &state.shared.keyring, &app)?;
        info!(app = %app.id, by = %by, "app credentials viewed");
        Ok(Credentials::of(&app, &secret))
    })
    .await?;
    Ok(Json(out))
}

/// Give an app a new secret; the old one stops working at once (account admin).
#[utoipa::path(
    post,
    path = "/v1/apps/{app}/secret",
    tag = "apps",
    security(("basic" = [])),
    params(("app" = uuid::Uuid, Path, description = "The app's id")),
    responses(
        (status = 200, description = "The app's new credentials", body = Credentials),
        (status = 400, description = "An undecodable path", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an account admin", body = ErrorBody),
        (status = 404, description = "No such app in your account", body = ErrorBody),
    )
)]
async fn reset_app_secret(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Credentials>> {
    let account = principal.may(Action::ManageApps)?;
    let out = blocking(move || {
        let mut app = admin_app(&state, account, &id)?;
        let secret = tenancy::reset_secret(&*state.shared.store, &state.shared.keyring, &mut app)?;
        info!(app = %app.id, "app secret reset");
        Ok(Credentials::of(&app, &secret))
    })
    .await?;
    Ok(Json(out))
}

/// An authentication method (`PUT /v1/apps/{app}/auth-method`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MethodBody {
    /// `api-key` or `certificate`.
    #[schema(example = "certificate")]
    auth_method: String,
}

/// Set how an app authenticates: `api-key` or `certificate` (account admin).
#[utoipa::path(
    put,
    path = "/v1/apps/{app}/auth-method",
    tag = "apps",
    security(("basic" = [])),
    params(("app" = uuid::Uuid, Path, description = "The app's id")),
    request_body = MethodBody,
    responses(
        (status = 200, description = "The app afterwards", body = AppView),
        (status = 400, description = "A bad body or method", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an account admin", body = ErrorBody),
        (status = 404, description = "No such app in your account", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    )
)]
async fn set_auth_method(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<MethodBody>,
) -> ApiResult<Json<AppView>> {
    let account = principal.may(Action::ManageApps)?;
    let method = parse_method(&body.auth_method)?;
    let app = blocking(move || {
        let mut app = admin_app(&state, account, &id)?;
        tenancy::set_auth_method(&*state.shared.store, &mut app, method)?;
        Ok(app)
    })
    .await?;
    Ok(Json((&app).into()))
}

/// The certificates of a PEM body.
fn pem_body(body: &[u8]) -> ApiResult<Vec<Vec<u8>>> {
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

/// Checks every certificate of a body before any is added, so that a body
/// with one bad certificate changes nothing: each must be X.509, not expired
/// and, to be trusted, a CA. (Core checks each again as it adds it.)
fn check_all(certs: &[Vec<u8>], how: CertUse, now: i64) -> ApiResult<()> {
    for der in certs {
        let info = skms_core::certs::inspect(der).map_err(ApiError::bad)?;
        if info.not_after <= now {
            let date = openssl::asn1::Asn1Time::from_unix(info.not_after)
                .map_or_else(|_| info.not_after.to_string(), |t| t.to_string());
            return Err(ApiError::bad(format!(
                "the certificate {} expired on {date}: upload a current one",
                info.subject
            )));
        }
        if matches!(how, CertUse::TrustCa) && !info.is_ca {
            return Err(ApiError::bad(format!(
                "{} is not a CA certificate (Basic Constraints CA is not set): pin it instead",
                info.subject
            )));
        }
    }
    Ok(())
}

/// Pins or trusts every certificate of a PEM body for the admin's app `id`
/// (an expired one is refused, and then none is added); answers what was done
/// to each (fingerprints or subjects) and the app.
async fn add_certificates(
    principal: Principal,
    state: Arc<RestState>,
    id: String,
    body: &[u8],
    how: CertUse,
) -> ApiResult<(Vec<String>, AppView)> {
    let account = principal.may(Action::ManageCertificates)?;
    let certs = pem_body(body)?;
    blocking(move || {
        let store = &*state.shared.store;
        let mut app = admin_app(&state, account, &id)?;
        let at = now();
        check_all(&certs, how, at)?;
        let mut done = Vec::new();
        for der in &certs {
            done.push(match how {
                CertUse::Pin => {
                    let fp = hex::encode(ca::pin_certificate(store, &mut app, der, at)?);
                    info!(app = %app.id, sha256 = %fp, "certificate pinned");
                    fp
                }
                CertUse::TrustCa => {
                    let subject = ca::trust_ca(store, &mut app, der, at)?.subject;
                    info!(app = %app.id, ca = %subject, "CA trusted");
                    subject
                }
            });
        }
        Ok((done, (&app).into()))
    })
    .await
}

/// Pin client certificates to an app (account admin).
///
/// Each certificate of the body is pinned by its SHA-256 fingerprint (self-signed
/// allowed, any CN) and kept whole for expiry tracking (`GET /v1/certificates`);
/// the app then authenticates by certificate. An expired certificate is refused.
#[utoipa::path(
    post,
    path = "/v1/apps/{app}/pinned-certificates",
    tag = "apps",
    security(("basic" = [])),
    params(("app" = uuid::Uuid, Path, description = "The app's id")),
    request_body(
        content = String,
        content_type = "application/x-pem-file",
        description = "One or more PEM `CERTIFICATE` blocks; each is pinned"
    ),
    responses(
        (status = 200, description = "The fingerprints pinned and the app", body = PinnedCertificates),
        (status = 400, description = "Not PEM certificates, or an expired one (then none is pinned)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an account admin", body = ErrorBody),
        (status = 404, description = "No such app in your account", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
    )
)]
async fn pin_certificates(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(id): ApiPath<String>,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Json<PinnedCertificates>> {
    let (pinned, app) = add_certificates(principal, state, id, &body, CertUse::Pin).await?;
    Ok(Json(PinnedCertificates { pinned, app }))
}

/// Trust CAs for an app (account admin).
///
/// Certificates the CAs of the body issue whose CN is the app's UUID
/// authenticate as the app, which then authenticates by certificate. An
/// expired CA certificate is refused.
#[utoipa::path(
    post,
    path = "/v1/apps/{app}/trusted-cas",
    tag = "apps",
    security(("basic" = [])),
    params(("app" = uuid::Uuid, Path, description = "The app's id")),
    request_body(
        content = String,
        content_type = "application/x-pem-file",
        description = "One or more PEM `CERTIFICATE` blocks of CAs; each is trusted"
    ),
    responses(
        (status = 200, description = "The subjects of the CAs trusted and the app", body = TrustedCas),
        (status = 400, description = "Not PEM certificates, or one that is expired or not a CA (then none is trusted)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an account admin", body = ErrorBody),
        (status = 404, description = "No such app in your account", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
    )
)]
async fn trust_cas(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(id): ApiPath<String>,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Json<TrustedCas>> {
    let (trusted, app) = add_certificates(principal, state, id, &body, CertUse::TrustCa).await?;
    Ok(Json(TrustedCas { trusted, app }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_admin_login_is_always_a_valid_login() {
        assert_eq!(default_admin("Acme Corp"), "acme-corp-admin");
        for name in ["x".repeat(200), "日本".into(), " Ünïcødé ".into()] {
            let admin = default_admin(&name);
            assert!(login_name_ok(&admin), "{admin}");
        }
        assert!(!login_name_ok(""));
        assert!(!login_name_ok("a b"));
        assert!(!login_name_ok(&"a".repeat(MAX_LOGIN + 1)));
    }
}
