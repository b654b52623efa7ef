//! The web console: its static files (the workspace's `web/`, embedded in the
//! binary at build time) under `/console/`, and its cookie sessions.
//!
//! The console signs in at `POST /console/session`: the answer sets the
//! session's access token in the HttpOnly cookie `skms_session` (which the
//! REST API takes as a bearer token, see [`super::auth`]), its refresh token
//! in the HttpOnly cookie `skms_refresh` (sent only to `/console/session`),
//! and the session's CSRF token in `skms_csrf` (readable by the page, which
//! sends it back as `X-CSRF-Token` with every change). Every cookie is
//! `Secure` and `SameSite=Strict`. Sign-in and refresh go through the same
//! code as `/v1/session` (users.rs), so lockout, errors and audit are alike.
//!
//! These routes are not part of the OpenAPI document: they serve a browser,
//! not an API client. Every console answer carries a strict
//! Content-Security-Policy (no inline script or style, nothing from another
//! origin, no framing); every answer at all carries HSTS and `nosniff`.

use super::auth::{
    check_csrf, cookie, csrf_token, peer_ip, same_origin, signed_in, CSRF_COOKIE, REFRESH_COOKIE,
    SESSION_COOKIE,
};
use super::extract::{ApiJson, ApiPath};
use super::observe::Acting;
use super::users::{end_session, refresh_session, sign_in, UserView};
use super::{blocking, ApiError, ErrorCode, RestState};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use skms_core::audit::ActorKind;
use skms_core::model::User;
use skms_core::tenancy::Session;
use std::sync::Arc;

include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));

/// Where the console lives.
const HOME: &str = "/console/";

/// The Content-Security-Policy of every console answer: only this origin's
/// scripts, styles, images (and `data:` images), fonts and connections; no
/// inline script or style, no plugin, no framing, no `<base>`, forms only to here.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// The HSTS policy of every answer (a year; the server speaks only HTTPS).
pub const HSTS: &str = "max-age=31536000";

/// The console's routes (outside the OpenAPI document).
pub(super) fn routes() -> Router<Arc<RestState>> {
    Router::new()
        .route("/", get(home))
        .route("/console", get(home))
        .route(HOME, get(index))
        .route("/console/session", get(current).post(start).delete(end))
        .route("/console/session/refresh", post(refresh))
        .route("/console/{*file}", get(asset))
}

/// `GET /`, `GET /console`: to the console.
async fn home() -> Redirect {
    Redirect::to(HOME)
}

/// `GET /console/`: the console's page.
async fn index() -> Response {
    serve("index.html")
}

/// `GET /console/{file}`: one of the console's files.
async fn asset(ApiPath(file): ApiPath<String>) -> Response {
    serve(&file)
}

/// The embedded file `name` with its Content-Type, or 404.
fn serve(name: &str) -> Response {
    match ASSETS.iter().find(|(n, _)| *n == name) {
        Some((_, bytes)) => {
            let kind = content_type(name).unwrap_or("application/octet-stream");
            ([(header::CONTENT_TYPE, kind)], *bytes).into_response()
        }
        None => ApiError::not_found("console file").into_response(),
    }
}

/// The Content-Type of a console file, by its name's ending.
fn content_type(name: &str) -> Option<&'static str> {
    let (_, ext) = name.rsplit_once('.')?;
    Some(match ext.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

/// Whether a path is the console's (its pages, files and sessions).
fn is_console(path: &str) -> bool {
    path == "/" || path == "/console" || path.starts_with(HOME)
}

/// Whether a request comes from a browser (it sends Fetch Metadata, or the
/// console's cookie or CSRF header).
fn from_browser(headers: &HeaderMap) -> bool {
    headers.contains_key("sec-fetch-mode")
        || headers.contains_key("sec-fetch-site")
        || headers.contains_key(super::auth::CSRF_HEADER)
        || cookie(headers, SESSION_COOKIE).is_some()
}

/// The layer around everything: HSTS and `nosniff` on every answer; the
/// console's CSP, framing, referrer and caching headers on the console's.
/// A 401 to a browser challenges `Bearer`, not `Basic`: a Basic challenge
/// would make the browser ask for a password in its own dialog and then send
/// it on its own with every request, cross-site ones included.
pub(super) async fn headers(req: Request, next: Next) -> Response {
    let console = is_console(req.uri().path());
    let browser = from_browser(req.headers());
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(HSTS),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if console {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONSOLE_CSP),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-cache"));
    }
    if (console || browser) && h.contains_key(header::WWW_AUTHENTICATE) {
        h.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"skms\""),
        );
    }
    response
}

/// `POST /console/session`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    /// Login name.
    username: String,
    /// Password.
    password: String,
}

/// The console's session, as its page sees it (never a token but the CSRF one).
#[derive(Serialize)]
struct ConsoleSession {
    /// Send as `X-CSRF-Token` with every change (also in the `skms_csrf` cookie).
    csrf_token: String,
    /// Who is signed in (as `/v1/session` shows it).
    user: UserView,
    /// The name of the user's account (none for a sysadmin).
    account_name: Option<String>,
    /// The user must change its one-time password before anything else.
    must_change_password: bool,
    /// The access token works until then (seconds since the epoch): refresh before.
    expires_at: i64,
    /// The sign-in ends then (after a sign-in or a refresh).
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_expires_at: Option<i64>,
}

impl ConsoleSession {
    fn of(
        access_token: &str,
        user: &User,
        account_name: Option<String>,
        expires_at: i64,
        refresh_ends: Option<i64>,
    ) -> Self {
        ConsoleSession {
            csrf_token: csrf_token(access_token),
            user: UserView::from(user),
            account_name,
            must_change_password: user.must_change_password,
            expires_at,
            refresh_expires_at: refresh_ends,
        }
    }
}

/// A `Set-Cookie` value: `name=value` with the console's attributes, and
/// `Max-Age=0` when it clears the cookie.
fn set_cookie(name: &str, value: &str, clear: bool) -> HeaderValue {
    let path = if name == REFRESH_COOKIE {
        "/console/session"
    } else {
        "/"
    };
    let http_only = if name == CSRF_COOKIE {
        ""
    } else {
        " HttpOnly;"
    };
    let max_age = if clear { "; Max-Age=0" } else { "" };
    let text = format!("{name}={value}; Path={path}; Secure;{http_only} SameSite=Strict{max_age}");
    // Tokens are base64url or hex: always a valid header value.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Adds the `Set-Cookie` headers that clear the three cookies.
fn clear_cookies(mut response: Response) -> Response {
    for name in [SESSION_COOKIE, REFRESH_COOKIE, CSRF_COOKIE] {
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie(name, "", true));
    }
    response
}

/// The answer to a sign-in or refresh: the session, its three cookies, and
/// the request recorded as the user's.
fn signed(session: &Session, account_name: Option<String>, acting: Option<&Acting>) -> Response {
    if let Some(acting) = acting {
        acting.set(
            session.user.account,
            ActorKind::User,
            session.user.name.clone(),
        );
    }
    let access = session.access_token.expose();
    let body = ConsoleSession::of(
        access,
        &session.user,
        account_name,
        session.expires_at,
        Some(session.refresh_expires_at),
    );
    let mut response = Json(body).into_response();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, access, false),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(REFRESH_COOKIE, session.refresh_token.expose(), false),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(CSRF_COOKIE, &csrf_token(access), false),
    );
    no_store(response)
}

/// The name of `user`'s account, for the console's top bar (none for a
/// sysadmin, or if the store does not answer: the page then shows the id).
async fn account_name(state: &Arc<RestState>, user: &User) -> Option<String> {
    let id = user.account?;
    let shared = state.shared.clone();
    blocking(move || Ok(shared.store.account(id)?.map(|a| a.name)))
        .await
        .ok()
        .flatten()
}

/// An answer that holds a CSRF token: never stored by a cache.
fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A 401 of the console's session routes.
fn not_signed_in() -> ApiError {
    ApiError::new(
        ErrorCode::Unauthorized,
        "not signed in to the console (or the session has ended): sign in again",
    )
}

/// Sign in to the console: the same check, lockout and errors as
/// `POST /v1/session`, the tokens in cookies.
async fn start(
    State(state): State<Arc<RestState>>,
    parts: Parts,
    ApiJson(body): ApiJson<SignIn>,
) -> Response {
    if let Err(e) = same_origin(&parts.headers) {
        return e.into_response();
    }
    let ip = peer_ip(&parts);
    match sign_in(
        &state,
        "console.password",
        Some(ip),
        body.username,
        body.password,
    )
    .await
    {
        Ok(session) => {
            let name = account_name(&state, &session.user).await;
            signed(&session, name, parts.extensions.get::<Acting>())
        }
        Err(refused) => refused,
    }
}

/// The console's current session, from its cookie (so a reloaded page knows
/// who it is), or 401.
async fn current(State(state): State<Arc<RestState>>, parts: Parts) -> Response {
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return not_signed_in().into_response();
    };
    match signed_in(&state, token.clone()).await {
        Ok(Some(s)) => {
            if let Some(acting) = parts.extensions.get::<Acting>() {
                acting.set(s.user.account, ActorKind::User, s.user.name.clone());
            }
            let name = account_name(&state, &s.user).await;
            let body = ConsoleSession::of(&token, &s.user, name, s.expires_at, None);
            no_store(Json(body).into_response())
        }
        Ok(None) => not_signed_in().into_response(),
        Err(e) => e.into_response(),
    }
}

/// A new pair for the console's session (the refresh cookie), with the
/// CSRF token of the current one; a refused refresh clears the cookies.
async fn refresh(State(state): State<Arc<RestState>>, parts: Parts) -> Response {
    let (Some(access), Some(refresh)) = (
        cookie(&parts.headers, SESSION_COOKIE),
        cookie(&parts.headers, REFRESH_COOKIE),
    ) else {
        return clear_cookies(not_signed_in().into_response());
    };
    if let Err(e) = check_csrf(&parts.headers, &access) {
        return e.into_response();
    }
    match refresh_session(&state, refresh).await {
        Ok(session) => {
            let name = account_name(&state, &session.user).await;
            signed(&session, name, parts.extensions.get::<Acting>())
        }
        Err(refused) => clear_cookies(refused),
    }
}

/// Sign out of the console: the session ends at the server and the cookies
/// are cleared.
async fn end(State(state): State<Arc<RestState>>, parts: Parts) -> Response {
    let Some(access) = cookie(&parts.headers, SESSION_COOKIE) else {
        return clear_cookies(not_signed_in().into_response());
    };
    if let Err(e) = check_csrf(&parts.headers, &access) {
        return e.into_response();
    }
    match signed_in(&state, access.clone()).await {
        Ok(Some(s)) => {
            if let Some(acting) = parts.extensions.get::<Acting>() {
                acting.set(s.user.account, ActorKind::User, s.user.name.clone());
            }
        }
        Ok(None) => {}
        Err(e) => return e.into_response(),
    }
    match end_session(&state, access).await {
        Ok(()) => clear_cookies(StatusCode::NO_CONTENT.into_response()),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_have_their_content_type() {
        assert_eq!(
            content_type("app.js"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(content_type("a/b.CSS"), Some("text/css; charset=utf-8"));
        assert_eq!(content_type("logo.svg"), Some("image/svg+xml"));
        assert_eq!(content_type("x.exe"), None);
        assert_eq!(content_type("README"), None);
    }

    #[test]
    fn cookies_carry_their_attributes() {
        assert_eq!(
            set_cookie(SESSION_COOKIE, "abc", false),
            "skms_session=abc; Path=/; Secure; HttpOnly; SameSite=Strict"
        );
        assert_eq!(
            set_cookie(REFRESH_COOKIE, "def", false),
            "skms_refresh=def; Path=/console/session; Secure; HttpOnly; SameSite=Strict"
        );
        assert_eq!(
            set_cookie(CSRF_COOKIE, "01", false),
            "skms_csrf=01; Path=/; Secure; SameSite=Strict"
        );
        assert_eq!(
            set_cookie(CSRF_COOKIE, "", true),
            "skms_csrf=; Path=/; Secure; SameSite=Strict; Max-Age=0"
        );
    }

    #[test]
    fn the_console_is_its_paths() {
        assert!(is_console("/"));
        assert!(is_console("/console"));
        assert!(is_console("/console/app.js"));
        assert!(!is_console("/consoles"));
        assert!(!is_console("/v1/whoami"));
    }
}
