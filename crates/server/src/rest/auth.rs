//! Who calls the REST API: HTTP Basic with a user's login and password or an
//! app's UUID and secret, slowed down after failures like on KMIP.

use super::{blocking, ApiError, ApiResult, Peer, RestState};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use base64::Engine as _;
use skms_core::ids::{AccountId, AppId};
use skms_core::model::{Role, User};
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
    /// The user, if a sysadmin; else 403.
    pub fn sysadmin(&self) -> ApiResult<&User> {
        match self {
            Principal::User(u) if u.role == Role::Sysadmin => Ok(u),
            _ => Err(ApiError::forbidden("only a sysadmin may do this")),
        }
    }

    /// The account an account admin manages.
    pub fn account_admin(&self) -> ApiResult<AccountId> {
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
