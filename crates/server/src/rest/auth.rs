//! Who calls the REST API: HTTP Basic with a user's login and password or an
//! app's UUID and secret, slowed down after failures like on KMIP.

use super::observe::Acting;
use super::{blocking, ApiError, ApiResult, Peer, RestState};
use crate::audit;
use crate::metrics::{AuthMethod, Interface};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use base64::Engine as _;
use skms_core::access;
use skms_core::audit::ActorKind;
use skms_core::ids::{AccountId, AppId};
use skms_core::model::User;
use skms_core::ops::Caller;
use skms_core::tenancy;
use std::sync::Arc;
use tracing::{debug, warn};

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
        let unauthorized = ApiError::unauthorized;
        if let Some(token) = bearer(&parts.headers) {
            return bearer_principal(parts, state, token).await;
        }
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
                Ok(Some(Principal::App(Box::new(Caller::app(app, account)))))
            } else {
                Ok(tenancy::authenticate_user(&*shared.store, &who, &password)?
                    .map(Principal::User))
            }
        })
        .await?;
        match found {
            Some(p) => {
                state.shared.backoff.success(ip);
                if let Principal::User(u) = &p {
                    must_change_first(parts, u)?;
                }
                if let Some(acting) = parts.extensions.get::<Acting>() {
                    match &p {
                        Principal::User(u) => {
                            acting.set(u.account, ActorKind::User, u.name.clone())
                        }
                        Principal::App(c) => {
                            let (kind, name) = c.audit_actor();
                            acting.set(Some(c.account.id), kind, name)
                        }
                    }
                }
                Ok(p)
            }
            None => {
                state.shared.backoff.failure(ip);
                state
                    .shared
                    .metrics
                    .authentication_failed(Interface::Rest, AuthMethod::Password);
                warn!(%ip, user = %name, "REST authentication failed");
                let shared = state.shared.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    let e = audit::authentication(
                        &*shared.store,
                        "rest.password",
                        ip,
                        &name,
                        None,
                        None,
                    );
                    shared.audit.record(e);
                })
                .await;
                Err(unauthorized())
            }
        }
    }
}

/// The token of an `Authorization: Bearer` header.
pub(super) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && token.len() <= 256).then(|| token.trim().to_string())
}

/// The user a session's bearer token signs in; a user who must change its
/// password may do only that (and see who it is, and sign out).
async fn bearer_principal(
    parts: &mut Parts,
    state: &Arc<RestState>,
    token: String,
) -> Result<Principal, ApiError> {
    let shared = state.shared.clone();
    let signed = blocking(move || {
        Ok(tenancy::authenticate_token(
            &*shared.store,
            &token,
            super::now(),
        )?)
    })
    .await?;
    let Some(signed) = signed else {
        state
            .shared
            .metrics
            .authentication_failed(Interface::Rest, AuthMethod::Password);
        return Err(ApiError::new(
            super::ErrorCode::Unauthorized,
            "the session token is unknown or expired: sign in again",
        ));
    };
    let user = signed.user;
    if let Some(acting) = parts.extensions.get::<Acting>() {
        acting.set(user.account, ActorKind::User, user.name.clone());
    }
    must_change_first(parts, &user)?;
    Ok(Principal::User(user))
}

/// Refuses every request but the password change (and whoami, sign-out) from
/// a user who must first change its one-time password.
fn must_change_first(parts: &Parts, user: &User) -> Result<(), ApiError> {
    if !user.must_change_password {
        return Ok(());
    }
    let route = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    if matches!(
        route.as_str(),
        "/v1/me/password" | "/v1/whoami" | "/v1/session"
    ) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "change your one-time password first (PUT /v1/me/password)",
        ))
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
    /// The access-control view (account-level: group roles do not matter to
    /// the account-wide actions the tenancy routes check).
    fn access(&self) -> access::Principal {
        match self {
            Principal::User(u) => access::Principal::user(u, &[]),
            Principal::App(c) => c.principal().clone(),
        }
    }

    /// The caller's account, if it may do `action` there ([`access::allowed`],
    /// the one place that decides); else 403.
    pub fn may(&self, action: access::Action) -> ApiResult<AccountId> {
        let account = match self {
            Principal::User(u) => u.account,
            Principal::App(c) => Some(c.account.id),
        };
        match account {
            Some(a) if access::allowed(&self.access(), Some(a), action, None) => Ok(a),
            _ => {
                // `ManageApps` → "manage apps".
                let mut what = String::new();
                for c in format!("{action:?}").chars() {
                    if c.is_uppercase() && !what.is_empty() {
                        what.push(' ');
                    }
                    what.push(c.to_ascii_lowercase());
                }
                Err(ApiError::forbidden(format!(
                    "your role may not {what} in this account"
                )))
            }
        }
    }

    /// The user, if a sysadmin (may manage accounts); else 403.
    pub fn sysadmin(&self) -> ApiResult<&User> {
        match self {
            Principal::User(u)
                if access::allowed(&self.access(), None, access::Action::ManageAccounts, None) =>
            {
                Ok(u)
            }
            _ => Err(ApiError::forbidden("only a sysadmin may do this")),
        }
    }

    /// The account whose apps the caller may manage (an account admin's).
    pub fn account_admin(&self) -> ApiResult<AccountId> {
        self.may(access::Action::ManageApps)
    }
}
