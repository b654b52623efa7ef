//! People over REST: sign-in sessions (a short-lived bearer token and a
//! refresh token), password change, the users of an account (its admins
//! manage them; a sysadmin manages the sysadmins), their group roles, and the
//! sysadmin's account operations (usage, disable, delete). Every decision is
//! [`skms_core::access::allowed`]'s, through the tenancy functions.

use super::error::ErrorBody;
use super::extract::{ApiJson, ApiPath};
use super::{blocking, now, ApiError, ApiResult, Peer, Principal, RestState};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use serde::{Deserialize, Serialize};
use skms_core::access;
use skms_core::ids::{AccountId, GroupId, UserId};
use skms_core::model::{GroupRole, Role, User};
use skms_core::tenancy::{self, LoginError, Session};
use std::sync::Arc;
use tracing::info;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this module.
pub(super) fn routes() -> OpenApiRouter<Arc<RestState>> {
    OpenApiRouter::new()
        .routes(routes!(login, logout))
        .routes(routes!(refresh))
        .routes(routes!(change_password))
        .routes(routes!(list_users, create_user))
        .routes(routes!(update_user, delete_user))
        .routes(routes!(group_roles, set_group_roles))
        .routes(routes!(account_usage))
        .routes(routes!(update_account, delete_account))
}

/// The access-control view of a principal (a user with its group roles).
pub(super) fn access_principal(
    state: &RestState,
    principal: &Principal,
) -> ApiResult<access::Principal> {
    Ok(match principal {
        Principal::User(u) => {
            let roles = state.shared.store.user_group_roles(u.id)?;
            access::Principal::user(u, &roles)
        }
        Principal::App(c) => c.principal().clone(),
    })
}

/// A user as the API shows it (never its password hash).
#[derive(Serialize, ToSchema)]
pub(super) struct UserView {
    /// Its id.
    #[schema(format = Uuid)]
    id: String,
    /// Login name.
    name: String,
    /// `sysadmin`, `account-admin`, `member` or `auditor`.
    role: String,
    /// Its account (none for a sysadmin).
    #[schema(format = Uuid)]
    account: Option<String>,
    /// A disabled user cannot sign in.
    enabled: bool,
    /// It must change its password before anything else.
    must_change_password: bool,
    /// When it was created, in seconds since the epoch.
    created: i64,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id.to_string(),
            name: u.name.clone(),
            role: u.role.as_str().into(),
            account: u.account.map(|a| a.to_string()),
            enabled: u.enabled,
            must_change_password: u.must_change_password,
            created: u.created,
        }
    }
}

/// `POST /v1/session`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    /// Login name.
    username: String,
    /// Password.
    password: String,
}

/// A sign-in's tokens (shown once).
#[derive(Serialize, ToSchema)]
struct Tokens {
    /// Send as `Authorization: Bearer …`.
    access_token: String,
    /// Exchange at `POST /v1/session/refresh` for a new pair (works once).
    refresh_token: String,
    /// The access token works until then (seconds since the epoch).
    expires_at: i64,
    /// The sign-in ends then.
    refresh_expires_at: i64,
    /// Who signed in.
    user: UserView,
}

impl From<&Session> for Tokens {
    fn from(s: &Session) -> Self {
        Tokens {
            access_token: s.access_token.expose().to_string(),
            refresh_token: s.refresh_token.expose().to_string(),
            expires_at: s.expires_at,
            refresh_expires_at: s.refresh_expires_at,
            user: UserView::from(&s.user),
        }
    }
}

/// A refused sign-in: 401, or 429 with `Retry-After` while locked.
pub(super) fn login_refused(e: LoginError) -> Response {
    match e {
        LoginError::Refused => {
            ApiError::new(super::ErrorCode::Unauthorized, "wrong name or password").into_response()
        }
        LoginError::RefreshReused => ApiError::new(
            super::ErrorCode::Unauthorized,
            "this refresh token was already used: the session is revoked",
        )
        .into_response(),
        LoginError::Locked { retry_after } => {
            let mut r = ApiError::new(
                super::ErrorCode::TooManyRequests,
                format!("too many failed sign-ins: retry after {retry_after} s"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        LoginError::Tenancy(e) => ApiError::from(e).into_response(),
    }
}

/// Sign in with a login name and password: a bearer token (15 minutes) and a refresh token.
#[utoipa::path(
    post,
    path = "/v1/session",
    tag = "users",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in", body = Tokens),
        (status = 400, description = "A bad body", body = ErrorBody),
        (status = 401, description = "Wrong name or password", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 429, description = "Locked after repeated failures", body = ErrorBody),
    )
)]
async fn login(
    State(state): State<Arc<RestState>>,
    peer: Option<Extension<Peer>>,
    ApiJson(body): ApiJson<LoginBody>,
) -> Response {
    let ip = peer.map(|p| p.0 .0.ip());
    match sign_in(&state, "rest.password", ip, body.username, body.password).await {
        Ok(session) => Json(Tokens::from(&session)).into_response(),
        Err(refused) => refused,
    }
}

/// Signs `username` in (the REST API's and the console's sign-in): the new
/// session, or the refusal's answer (401; 429 with `Retry-After`). A wrong
/// password or a locked name is recorded as a failed authentication by
/// `method` (`rest.password`, `console.password`).
pub(super) async fn sign_in(
    state: &Arc<RestState>,
    method: &'static str,
    ip: Option<std::net::IpAddr>,
    username: String,
    password: String,
) -> Result<Session, Response> {
    let shared = state.shared.clone();
    let name = username.clone();
    let done = tokio::task::spawn_blocking(move || {
        let password = zeroize::Zeroizing::new(password);
        tenancy::login(&*shared.store, &name, &password, now())
    })
    .await;
    match done {
        Ok(Ok(session)) => Ok(session),
        Ok(Err(e)) => {
            // Recorded: a refused password (the default reason) or a locked name.
            let reason = match &e {
                LoginError::Refused => None,
                LoginError::Locked { .. } => Some(e.to_string()),
                _ => return Err(login_refused(e)),
            };
            let ip = ip.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
            super::auth::record_failed_sign_in(state, method, ip, username, reason).await;
            Err(login_refused(e))
        }
        Err(e) => Err(ApiError::internal(e).into_response()),
    }
}

/// Exchanges a refresh token for a new session (the REST API's and the
/// console's refresh): the new pair, or the refusal's answer (401).
pub(super) async fn refresh_session(
    state: &Arc<RestState>,
    refresh_token: String,
) -> Result<Session, Response> {
    let shared = state.shared.clone();
    let done = tokio::task::spawn_blocking(move || {
        tenancy::refresh(&*shared.store, &refresh_token, now())
    })
    .await;
    match done {
        Ok(Ok(session)) => Ok(session),
        Ok(Err(e)) => Err(login_refused(e)),
        Err(e) => Err(ApiError::internal(e).into_response()),
    }
}

/// Ends the session of `access_token` (every pair of its sign-in).
pub(super) async fn end_session(state: &Arc<RestState>, access_token: String) -> ApiResult<()> {
    let shared = state.shared.clone();
    blocking(move || Ok(tenancy::logout(&*shared.store, &access_token)?)).await
}

/// `POST /v1/session/refresh`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    /// The refresh token of the last pair.
    refresh_token: String,
}

/// Exchange a refresh token for a new pair (the old refresh token then stops working).
#[utoipa::path(
    post,
    path = "/v1/session/refresh",
    tag = "users",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "A new pair", body = Tokens),
        (status = 400, description = "A bad body", body = ErrorBody),
        (status = 401, description = "Unknown, expired or reused refresh token", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    )
)]
async fn refresh(
    State(state): State<Arc<RestState>>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Response {
    match refresh_session(&state, body.refresh_token).await {
        Ok(session) => Json(Tokens::from(&session)).into_response(),
        Err(refused) => refused,
    }
}

/// Sign out: the bearer token (or the console's session cookie) and its
/// refresh token stop working.
#[utoipa::path(
    delete,
    path = "/v1/session",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 400, description = "Not a bearer token", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
async fn logout(
    _principal: Principal,
    State(state): State<Arc<RestState>>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let token = super::auth::bearer(&headers)
        .or_else(|| {
            (!headers.contains_key(header::AUTHORIZATION))
                .then(|| super::auth::cookie(&headers, super::auth::SESSION_COOKIE))
                .flatten()
        })
        .ok_or_else(|| ApiError::bad("sign out with the bearer token of the session"))?;
    end_session(&state, token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v1/me/password`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    /// The current password.
    old_password: String,
    /// The new one: at least 12 characters, not the name, not the old one.
    new_password: String,
}

/// Change your own password; your other sessions end.
#[utoipa::path(
    put,
    path = "/v1/me/password",
    tag = "users",
    security(("basic" = []), ("bearer" = [])),
    request_body = PasswordBody,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "A bad body or a weak new password", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a user, or the old password is wrong", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    )
)]
async fn change_password(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<StatusCode> {
    let Principal::User(user) = principal else {
        return Err(ApiError::forbidden(
            "an app has a secret, not a password: reset it instead",
        ));
    };
    blocking(move || {
        let old = zeroize::Zeroizing::new(body.old_password);
        let new = zeroize::Zeroizing::new(body.new_password);
        tenancy::change_password(&*state.shared.store, user.id, &old, &new, None, now())?;
        info!(user = %user.name, "password changed");
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The account whose users a principal manages: its own (`None` for a sysadmin: the sysadmins).
fn user_scope(principal: &Principal) -> ApiResult<Option<AccountId>> {
    match principal {
        Principal::User(u) => Ok(u.account),
        Principal::App(_) => Err(ApiError::forbidden("an app manages no users")),
    }
}

/// List the users you manage: your account's (the sysadmins, for a sysadmin).
#[utoipa::path(
    get,
    path = "/v1/users",
    tag = "users",
    security(("basic" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The users", body = [UserView]),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not allowed to manage users", body = ErrorBody),
    )
)]
async fn list_users(
    principal: Principal,
    State(state): State<Arc<RestState>>,
) -> ApiResult<Json<Vec<UserView>>> {
    let scope = user_scope(&principal)?;
    let users = blocking(move || {
        let who = access_principal(&state, &principal)?;
        if !access::allowed(&who, scope, access::Action::ManageUsers, None) {
            return Err(ApiError::forbidden("only an admin manages users"));
        }
        Ok(state.shared.store.users(scope)?)
    })
    .await?;
    Ok(Json(users.iter().map(UserView::from).collect()))
}

/// `POST /v1/users`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewUser {
    /// Login name (letters, digits, `-_.@`), unique on the server.
    name: String,
    /// `account-admin`, `member` or `auditor` (a sysadmin creates `sysadmin`s).
    role: String,
}

/// A new user and its one-time password (shown once; it must be changed at first sign-in).
#[derive(Serialize, ToSchema)]
struct UserCreated {
    /// The user.
    user: UserView,
    /// Its one-time password.
    password: String,
}

fn parse_role(s: &str) -> ApiResult<Role> {
    Role::parse(s.trim()).ok_or_else(|| {
        ApiError::bad(format!(
            "unknown role {s:?}: use account-admin, member, auditor (or sysadmin)"
        ))
    })
}

/// Create a user of your account (a sysadmin creates sysadmins).
#[utoipa::path(
    post,
    path = "/v1/users",
    tag = "users",
    security(("basic" = []), ("bearer" = [])),
    request_body = NewUser,
    responses(
        (status = 201, description = "The user and its one-time password", body = UserCreated),
        (status = 400, description = "A bad body, name or role", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not allowed to manage users", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    )
)]
async fn create_user(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiJson(body): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<UserCreated>)> {
    let scope = user_scope(&principal)?;
    let role = parse_role(&body.role)?;
    let made = blocking(move || {
        let who = access_principal(&state, &principal)?;
        let (user, password) = tenancy::create_user_as(
            &*state.shared.store,
            &who,
            scope,
            body.name.trim(),
            role,
            now(),
        )?;
        info!(user = %user.name, role = role.as_str(), "user created");
        Ok(UserCreated {
            user: UserView::from(&user),
            password: password.expose().to_string(),
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// `PATCH /v1/users/{user}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    /// Enable or disable (a disabled user's sessions end at once).
    enabled: Option<bool>,
    /// A new role in the account.
    role: Option<String>,
}

fn user_id(id: &str) -> ApiResult<UserId> {
    id.trim().parse().map_err(|_| ApiError::not_found("user"))
}

/// Change a user you manage: enable, disable, role.
#[utoipa::path(
    patch,
    path = "/v1/users/{user}",
    tag = "users",
    security(("basic" = []), ("bearer" = [])),
    params(("user" = String, Path, description = "The user's id", format = Uuid)),
    request_body = UserPatch,
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 400, description = "A bad body or role", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    )
)]
async fn update_user(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UserPatch>,
) -> ApiResult<Json<UserView>> {
    let id = user_id(&id)?;
    let role = body.role.as_deref().map(parse_role).transpose()?;
    let user = blocking(move || {
        let store = &*state.shared.store;
        let who = access_principal(&state, &principal)?;
        let mut user = None;
        if let Some(r) = role {
            user = Some(tenancy::set_user_role(store, &who, id, r)?);
        }
        match body.enabled {
            Some(true) => user = Some(tenancy::enable_user(store, &who, id)?),
            Some(false) => user = Some(tenancy::disable_user(store, &who, id)?),
            None => {}
        }
        match user {
            Some(u) => Ok(u),
            None => {
                // Nothing to change: answer the user if the caller manages it.
                let u = store.user(id)?.ok_or_else(|| ApiError::not_found("user"))?;
                if !access::allowed(&who, u.account, access::Action::ManageUsers, None) {
                    return Err(ApiError::not_found("user"));
                }
                Ok(u)
            }
        }
    })
    .await?;
    Ok(Json(UserView::from(&user)))
}

/// Delete a user you manage (its sessions end; audit records keep its name).
#[utoipa::path(
    delete,
    path = "/v1/users/{user}",
    tag = "users",
    security(("basic" = []), ("bearer" = [])),
    params(("user" = String, Path, description = "The user's id", format = Uuid)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn delete_user(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = user_id(&id)?;
    blocking(move || {
        let who = access_principal(&state, &principal)?;
        Ok(tenancy::delete_user(&*state.shared.store, &who, id)?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One group role.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct GroupRoleBody {
    /// The group's id or name.
    group: String,
    /// `admin`, `member` or `auditor`.
    role: String,
}

/// One role a user holds on a group.
#[derive(Serialize, ToSchema)]
struct GroupRoleView {
    /// The group's id.
    #[schema(format = Uuid)]
    group: String,
    /// `admin`, `member` or `auditor`.
    role: String,
}

/// The roles a user of your account holds on groups.
#[utoipa::path(
    get,
    path = "/v1/users/{user}/group-roles",
    tag = "users",
    security(("basic" = []), ("bearer" = [])),
    params(("user" = String, Path, description = "The user's id", format = Uuid)),
    responses(
        (status = 200, description = "Its group roles", body = [GroupRoleView]),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn group_roles(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<GroupRoleView>>> {
    let id = user_id(&id)?;
    user_scope(&principal)?;
    let roles = blocking(move || {
        let who = access_principal(&state, &principal)?;
        Ok(tenancy::group_roles(&*state.shared.store, &who, id)?)
    })
    .await?;
    Ok(Json(
        roles
            .into_iter()
            .map(|(g, r)| GroupRoleView {
                group: g.to_string(),
                role: r.as_str().into(),
            })
            .collect(),
    ))
}

/// Set the roles a user of your account holds on groups (replaces them all).
#[utoipa::path(
    put,
    path = "/v1/users/{user}/group-roles",
    tag = "users",
    security(("basic" = []), ("bearer" = [])),
    params(("user" = String, Path, description = "The user's id", format = Uuid)),
    request_body = Vec<GroupRoleBody>,
    responses(
        (status = 204, description = "Set"),
        (status = 400, description = "A bad body, group or role", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    )
)]
async fn set_group_roles(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Vec<GroupRoleBody>>,
) -> ApiResult<StatusCode> {
    let id = user_id(&id)?;
    let scope = user_scope(&principal)?;
    blocking(move || {
        let store = &*state.shared.store;
        let who = access_principal(&state, &principal)?;
        let groups = match scope {
            Some(a) => store.groups(a)?,
            None => Vec::new(),
        };
        let roles = body
            .iter()
            .map(|r| {
                let g: GroupId = groups
                    .iter()
                    .find(|g| {
                        g.id.to_string() == r.group.trim().to_lowercase()
                            || g.name == r.group.trim()
                    })
                    .map(|g| g.id)
                    .ok_or_else(|| {
                        ApiError::bad(format!("no group {:?} in this account", r.group))
                    })?;
                let role = GroupRole::parse(r.role.trim()).ok_or_else(|| {
                    ApiError::bad(format!(
                        "unknown group role {:?}: use admin, member or auditor",
                        r.role
                    ))
                })?;
                Ok((g, role))
            })
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(tenancy::set_group_roles(store, &who, id, &roles)?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How much an account holds (counts only: never an object's value).
#[derive(Serialize, ToSchema)]
struct Usage {
    /// Apps.
    apps: u64,
    /// Users.
    users: u64,
    /// Groups.
    groups: u64,
    /// Security objects by state name.
    objects_by_state: std::collections::BTreeMap<String, u64>,
}

fn account_id(id: &str) -> ApiResult<AccountId> {
    id.trim()
        .parse()
        .map_err(|_| ApiError::not_found("account"))
}

/// An account's usage counts (the sysadmin; an account's users for their own).
#[utoipa::path(
    get,
    path = "/v1/accounts/{account}/usage",
    tag = "accounts",
    security(("basic" = []), ("bearer" = [])),
    params(("account" = String, Path, description = "The account's id", format = Uuid)),
    responses(
        (status = 200, description = "The counts", body = Usage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such account (or not yours)", body = ErrorBody),
    )
)]
async fn account_usage(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Usage>> {
    let id = account_id(&id)?;
    let usage = blocking(move || {
        let who = access_principal(&state, &principal)?;
        Ok(tenancy::account_usage(&*state.shared.store, &who, id)?)
    })
    .await?;
    Ok(Json(Usage {
        apps: usage.apps,
        users: usage.users,
        groups: usage.groups,
        objects_by_state: usage
            .objects_by_state
            .iter()
            .map(|(s, n)| (s.name().unwrap_or("Unknown").to_string(), *n))
            .collect(),
    }))
}

/// `PATCH /v1/accounts/{account}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AccountPatch {
    /// A disabled account's apps and users cannot authenticate.
    enabled: bool,
}

/// Enable or disable an account (the sysadmin).
#[utoipa::path(
    patch,
    path = "/v1/accounts/{account}",
    tag = "accounts",
    security(("basic" = []), ("bearer" = [])),
    params(("account" = String, Path, description = "The account's id", format = Uuid)),
    request_body = AccountPatch,
    responses(
        (status = 204, description = "Done"),
        (status = 400, description = "A bad body", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a sysadmin", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    )
)]
async fn update_account(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AccountPatch>,
) -> ApiResult<StatusCode> {
    let id = account_id(&id)?;
    blocking(move || {
        let who = access_principal(&state, &principal)?;
        let store = &*state.shared.store;
        if body.enabled {
            tenancy::enable_account(store, &who, id)?;
        } else {
            tenancy::disable_account(store, &who, id)?;
        }
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete an account that holds no live object any more (the sysadmin); its audit log stays.
#[utoipa::path(
    delete,
    path = "/v1/accounts/{account}",
    tag = "accounts",
    security(("basic" = []), ("bearer" = [])),
    params(("account" = String, Path, description = "The account's id", format = Uuid)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a sysadmin", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 409, description = "It still holds objects that are not destroyed", body = ErrorBody),
    )
)]
async fn delete_account(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = account_id(&id)?;
    blocking(move || {
        let who = access_principal(&state, &principal)?;
        tenancy::delete_account(&*state.shared.store, &who, id)?;
        state.shared.keyring.forget(id);
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
