//! Who calls the REST API: HTTP Basic with a user's login and password or an
//! app's UUID and secret, slowed down after failures like on KMIP; a
//! session's bearer token; or, from the web console, the same token in the
//! `skms_session` cookie.
//!
//! A cookie is sent by the browser on its own, so a cookie-authenticated
//! change (any method but GET, HEAD, OPTIONS) must also prove it comes from
//! the console's page: the `X-CSRF-Token` header, which only a page that read
//! the `skms_csrf` cookie (same site) or the sign-in answer can send, and an
//! `Origin`, when the browser sends one, that is this server's own. Whatever
//! the credentials, a change whose `Origin` is another site's is refused: no
//! CLI or app sends one, and a browser that kept a Basic login would.

use super::observe::Acting;
use super::{blocking, ApiError, ApiResult, Peer, RestState};
use crate::audit;
use crate::metrics::{AuthMethod, Interface};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use base64::Engine as _;
use skms_core::access;
use skms_core::audit::ActorKind;
use skms_core::ids::{AccountId, AppId};
use skms_core::model::User;
use skms_core::ops::Caller;
use skms_core::tenancy::{self, SignedIn};
use std::net::IpAddr;
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
        if !is_safe(&parts.method) {
            same_origin(&parts.headers)?;
        }
        if let Some(token) = bearer(&parts.headers) {
            return bearer_principal(parts, state, token, false).await;
        }
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            if let Some(token) = cookie(&parts.headers, SESSION_COOKIE) {
                return bearer_principal(parts, state, token, true).await;
            }
        }
        let (name, password) = basic_credentials(&parts.headers).ok_or_else(unauthorized)?;
        let ip = peer_ip(parts);
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
                warn!(%ip, user = %name, "REST authentication failed");
                record_failed_sign_in(state, "rest.password", ip, name, None).await;
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

/// Records a failed password sign-in by `method` (`rest.password`,
/// `console.password`) from `ip` as `name`: the audit record (in the provider's
/// chain, or the account of the app the name designates) and the metric.
pub(super) async fn record_failed_sign_in(
    state: &Arc<RestState>,
    method: &'static str,
    ip: IpAddr,
    name: String,
    reason: Option<String>,
) {
    state
        .shared
        .metrics
        .authentication_failed(Interface::Rest, AuthMethod::Password);
    let shared = state.shared.clone();
    let _ = tokio::task::spawn_blocking(move || {
        let e = audit::authentication(&*shared.store, method, ip, &name, None, reason);
        shared.audit.record(e);
    })
    .await;
}

/// The address a request came from (unspecified if unknown).
pub(super) fn peer_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<Peer>()
        .map(|p| p.0.ip())
        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into())
}

/// The session an access token belongs to, if it works now.
pub(super) async fn signed_in(
    state: &Arc<RestState>,
    token: String,
) -> ApiResult<Option<SignedIn>> {
    let shared = state.shared.clone();
    blocking(move || {
        Ok(tenancy::authenticate_token(
            &*shared.store,
            &token,
            super::now(),
        )?)
    })
    .await
}

/// The user a session's bearer token (or, `from_cookie`, the console's session
/// cookie) signs in; a user who must change its password may do only that
/// (and see who it is, and sign out). A cookie-authenticated change must carry
/// the session's CSRF token.
async fn bearer_principal(
    parts: &mut Parts,
    state: &Arc<RestState>,
    token: String,
    from_cookie: bool,
) -> Result<Principal, ApiError> {
    let signed = signed_in(state, token.clone()).await?;
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
    if from_cookie && !is_safe(&parts.method) {
        check_csrf(&parts.headers, &token)?;
    }
    must_change_first(parts, &user)?;
    Ok(Principal::User(user))
}

/// The cookie that carries a console session's access token (HttpOnly).
pub(super) const SESSION_COOKIE: &str = "skms_session";

/// The cookie that carries a console session's refresh token (HttpOnly, sent
/// only to `/console/session`).
pub(super) const REFRESH_COOKIE: &str = "skms_refresh";

/// The cookie that carries the session's CSRF token (readable by the page).
pub(super) const CSRF_COOKIE: &str = "skms_csrf";

/// The header a cookie-authenticated change carries the CSRF token in.
pub(super) const CSRF_HEADER: &str = "x-csrf-token";

/// Whether a method changes nothing (no CSRF proof asked).
pub(super) fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The value of cookie `name` in the request's `Cookie` headers (the first,
/// if several), if it is a plausible token.
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|v| !v.is_empty() && v.len() <= 256)
}

/// The CSRF token of the session whose access token is `access_token`:
/// hex(SHA-256("skms-csrf-v1:" ‖ token)). It changes with every refresh, and
/// nobody who cannot read the HttpOnly session cookie can compute it.
pub(super) fn csrf_token(access_token: &str) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(b"skms-csrf-v1:");
    ctx.update(access_token.as_bytes());
    hex::encode(ctx.finish().as_ref())
}

/// A refusal of a request that may come from another site.
fn cross_site(why: &str) -> ApiError {
    ApiError::forbidden(format!("cross-site request refused: {why}"))
}

/// Refuses a request whose `Origin` (when the browser sends one) is not
/// `https://` + its own `Host`.
pub(super) fn same_origin(headers: &HeaderMap) -> ApiResult<()> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match (origin.to_str().ok(), host) {
        (Some(origin), Some(host))
            if origin
                .strip_prefix("https://")
                .is_some_and(|o| o.eq_ignore_ascii_case(host.trim())) =>
        {
            Ok(())
        }
        _ => Err(cross_site(
            "its Origin is not this server (a page of another site sent it)",
        )),
    }
}

/// Refuses a cookie-authenticated change that does not carry the session's
/// CSRF token in `X-CSRF-Token` (compared in constant time) or comes from
/// another origin.
pub(super) fn check_csrf(headers: &HeaderMap, access_token: &str) -> ApiResult<()> {
    same_origin(headers)?;
    let sent = headers
        .get(CSRF_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let expected = csrf_token(access_token);
    if sent.is_empty()
        || aws_lc_rs::constant_time::verify_slices_are_equal(sent, expected.as_bytes()).is_err()
    {
        return Err(cross_site(
            "the X-CSRF-Token header is missing or is not this session's",
        ));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_str(value).unwrap());
        }
        h
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; skms_session=tok-en_1; skms_csrf=ff")]);
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("tok-en_1"));
        assert_eq!(cookie(&h, CSRF_COOKIE).as_deref(), Some("ff"));
        assert_eq!(cookie(&h, REFRESH_COOKIE), None);
        let h = headers(&[("cookie", "skms_session=")]);
        assert_eq!(cookie(&h, SESSION_COOKIE), None);
        let h = headers(&[("cookie", "xskms_session=1")]);
        assert_eq!(cookie(&h, SESSION_COOKIE), None);
    }

    #[test]
    fn the_csrf_token_is_bound_to_the_access_token() {
        // hex(SHA-256("skms-csrf-v1:abc")), as the console's contract says.
        let expected = {
            let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"skms-csrf-v1:abc");
            hex::encode(d.as_ref())
        };
        assert_eq!(csrf_token("abc"), expected);
        assert_eq!(csrf_token("abc").len(), 64);
        assert_ne!(csrf_token("abc"), csrf_token("abd"));
    }

    #[test]
    fn a_change_needs_the_csrf_header_and_this_origin() {
        let token = "abc";
        let csrf = csrf_token(token);
        let host = ("host", "kms.example:8443");
        let ok = headers(&[host, ("x-csrf-token", &csrf)]);
        assert!(check_csrf(&ok, token).is_ok());
        let ok = headers(&[
            host,
            ("x-csrf-token", &csrf),
            ("origin", "https://kms.example:8443"),
        ]);
        assert!(check_csrf(&ok, token).is_ok());
        for bad in [
            headers(&[host]),
            headers(&[host, ("x-csrf-token", "")]),
            headers(&[host, ("x-csrf-token", &csrf_token("abd"))]),
            headers(&[
                host,
                ("x-csrf-token", &csrf),
                ("origin", "https://evil.example"),
            ]),
            headers(&[
                host,
                ("x-csrf-token", &csrf),
                ("origin", "http://kms.example:8443"),
            ]),
            headers(&[host, ("x-csrf-token", &csrf), ("origin", "null")]),
            headers(&[
                ("x-csrf-token", &csrf),
                ("origin", "https://kms.example:8443"),
            ]),
        ] {
            let e = check_csrf(&bad, token).unwrap_err();
            assert_eq!(e.code, super::super::ErrorCode::Forbidden);
            assert!(
                e.message.starts_with("cross-site request refused: "),
                "{}",
                e.message
            );
        }
    }
}
