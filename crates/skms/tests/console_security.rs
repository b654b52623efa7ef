//! The web console's security, against a real `skms serve`: its files come
//! with a strict Content-Security-Policy and the other browser headers; its
//! sign-in sets three cookies (the session and refresh tokens HttpOnly, the
//! CSRF token readable), all `Secure` and `SameSite=Strict`; the REST API takes
//! the session cookie, but a change made with it needs the session's
//! `X-CSRF-Token` and, when the browser names one, this server's Origin; a
//! refresh rotates the cookies and the CSRF token; sign-out ends the session.
//! Last, a real browser (headless Chromium, driven over the DevTools pipe)
//! signs in and then opens pages of two other sites that post a form to the
//! API: neither creates anything.

mod common;

use common::{console_client, set_cookie, set_cookies, Login};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The policy every console answer carries.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                   base-uri 'none'";

fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The browser headers every console answer carries (and HSTS).
fn assert_console_headers(r: &Response, what: &str) {
    assert_eq!(header(r, "content-security-policy"), CSP, "{what}");
    assert_eq!(header(r, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(r, "referrer-policy"), "no-referrer", "{what}");
    assert_eq!(header(r, "x-frame-options"), "DENY", "{what}");
    assert!(
        ["no-cache", "no-store"].contains(&header(r, "cache-control").as_str()),
        "{what}: {:?}",
        r.headers()
    );
    assert_eq!(
        header(r, "strict-transport-security"),
        "max-age=31536000",
        "{what}"
    );
}

/// A console signed in: its three cookies, as the browser keeps them.
#[derive(Clone, Debug)]
struct Console {
    session: String,
    refresh: String,
    csrf: String,
}

impl Console {
    /// The `Cookie` header the browser sends to the API (`Path=/` cookies).
    fn cookies(&self) -> String {
        format!("skms_session={}; skms_csrf={}", self.session, self.csrf)
    }

    /// The `Cookie` header the browser sends to `/console/session…` (all three).
    fn session_cookies(&self) -> String {
        format!(
            "skms_refresh={}; skms_session={}; skms_csrf={}",
            self.refresh, self.session, self.csrf
        )
    }
}

/// Reads a signing-in answer (sign-in or refresh): checks the three cookies'
/// attributes and that the body's CSRF token is the cookie's.
fn signed_in(r: Response, login: &Login) -> (Console, Value) {
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "cache-control"), "no-store");
    let cookies = set_cookies(r.headers());
    assert_eq!(cookies.len(), 3, "{cookies:#?}");
    let session = set_cookie(&cookies, "skms_session");
    let refresh = set_cookie(&cookies, "skms_refresh");
    let csrf = set_cookie(&cookies, "skms_csrf");
    for c in [session, refresh, csrf] {
        assert_eq!(c.attribute("Secure").as_deref(), Some(""), "{c:?}");
        assert_eq!(c.attribute("SameSite").as_deref(), Some("Strict"), "{c:?}");
        assert_eq!(
            c.attribute("Max-Age"),
            None,
            "{c:?}: a browser-session cookie"
        );
        assert!(!c.value.is_empty(), "{c:?}");
    }
    assert_eq!(session.attribute("Path").as_deref(), Some("/"));
    assert_eq!(session.attribute("HttpOnly").as_deref(), Some(""));
    assert_eq!(
        refresh.attribute("Path").as_deref(),
        Some("/console/session")
    );
    assert_eq!(refresh.attribute("HttpOnly").as_deref(), Some(""));
    assert_eq!(csrf.attribute("Path").as_deref(), Some("/"));
    assert_eq!(csrf.attribute("HttpOnly"), None, "the page reads skms_csrf");
    let console = Console {
        session: session.value.clone(),
        refresh: refresh.value.clone(),
        csrf: csrf.value.clone(),
    };
    let body: Value = r.json().unwrap();
    assert_eq!(body["csrf_token"], json!(console.csrf), "{body}");
    assert_eq!(console.csrf.len(), 64, "hex SHA-256");
    assert!(console.csrf.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(body["user"]["name"], json!(login.user), "{body}");
    assert!(body["must_change_password"].is_boolean(), "{body}");
    assert!(
        !body.to_string().contains(&console.session)
            && !body.to_string().contains(&console.refresh),
        "the HttpOnly tokens are not in the body: {body}"
    );
    (console, body)
}

/// Signs `login` in to the console.
fn console_sign_in(client: &Client, base: &str, login: &Login) -> (Console, Value) {
    let r = client
        .post(format!("{base}/console/session"))
        .json(&json!({ "username": login.user, "password": login.password }))
        .send()
        .unwrap();
    signed_in(r, login)
}

/// The status and JSON body of a request.
fn call(r: RequestBuilder) -> (StatusCode, Value) {
    let resp = r.send().unwrap();
    let status = resp.status();
    (status, resp.json().unwrap_or(Value::Null))
}

/// The names of the account's groups, read with the admin's Basic login.
fn group_names(client: &Client, base: &str, admin: &Login) -> Vec<String> {
    let (status, v) = call(
        client
            .get(format!("{base}/v1/groups"))
            .basic_auth(&admin.user, Some(&admin.password)),
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    v.as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect()
}

/// A refusal of a cross-site request: 403 `forbidden`, "cross-site request refused: …".
fn assert_cross_site_refused((status, v): (StatusCode, Value), what: &str) {
    assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {v}");
    assert_eq!(v["code"], "forbidden", "{what}: {v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("cross-site request refused: "),
        "{what}: {v}"
    );
    assert!(v["request_id"].is_string(), "{what}: {v}");
}

/// Each `Set-Cookie` of `r` clears one of the three cookies.
fn assert_cleared(r: &Response, what: &str) {
    let cookies = set_cookies(r.headers());
    for name in ["skms_session", "skms_refresh", "skms_csrf"] {
        let c = set_cookie(&cookies, name);
        assert_eq!(c.value, "", "{what}: {c:?}");
        assert_eq!(
            c.attribute("Max-Age").as_deref(),
            Some("0"),
            "{what}: {c:?}"
        );
    }
}

/// The web directory the binary embeds, and the files of it that are older
/// than the binary (so surely embedded, even while someone edits `web/`).
fn embedded_web_files() -> Vec<(String, PathBuf)> {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
    let built = std::fs::metadata(env!("CARGO_BIN_EXE_skms"))
        .unwrap()
        .modified()
        .unwrap();
    let mut files = Vec::new();
    let mut dirs = vec![(String::new(), web)];
    while let Some((prefix, dir)) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                dirs.push((format!("{prefix}{name}/"), e.path()));
            } else if meta.modified().unwrap() < built {
                files.push((format!("{prefix}{name}"), e.path()));
            }
        }
    }
    files
}

#[test]
fn console_files_come_with_a_strict_policy() {
    let dir = common::temp_dir("console-files");
    let server = common::serve(&dir);
    let (client, base) = console_client(&server);

    // The page itself.
    let r = client.get(format!("{base}/console/")).send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
    assert_console_headers(&r, "GET /console/");
    assert!(r.text().unwrap().to_lowercase().contains("<html"));

    // `/` and `/console` lead to it.
    for path in ["/", "/console"] {
        let r = client.get(format!("{base}{path}")).send().unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(header(&r, "location"), "/console/", "{path}");
        assert_console_headers(&r, path);
    }

    // Each file of web/ with its type (those surely in this build).
    let types = [
        ("html", "text/html; charset=utf-8"),
        ("js", "text/javascript; charset=utf-8"),
        ("css", "text/css; charset=utf-8"),
        ("svg", "image/svg+xml"),
        ("png", "image/png"),
        ("ico", "image/x-icon"),
    ];
    for (name, path) in embedded_web_files() {
        let Some((_, kind)) = types
            .iter()
            .find(|(ext, _)| name.ends_with(&format!(".{ext}")))
        else {
            continue;
        };
        let r = client.get(format!("{base}/console/{name}")).send().unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{name}");
        assert_eq!(header(&r, "content-type"), *kind, "{name}");
        assert_console_headers(&r, &name);
        let bytes = r.bytes().unwrap();
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64) {
            assert_eq!(bytes.as_ref(), std::fs::read(&path).unwrap(), "{name}");
        }
    }

    // An unknown file: the API's 404, still under the policy.
    for path in [
        "/console/no-such-file.js",
        "/console/..%2fCargo.toml",
        "/console/pages/",
        "/console/.gitignore",
    ] {
        let r = client.get(format!("{base}{path}")).send().unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_console_headers(&r, path);
        let request_id = header(&r, "x-request-id");
        let v: Value = r.json().unwrap();
        assert_eq!(v["code"], "not_found", "{v}");
        assert_eq!(v["request_id"], json!(request_id), "{v}");
    }

    // The API's answers: HSTS and nosniff, and no console policy.
    let r = client.get(format!("{base}/v1/health")).send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "strict-transport-security"), "max-age=31536000");
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    assert_eq!(header(&r, "content-security-policy"), "");
    let r = client
        .get(format!("{base}/v1/no-such-route"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&r, "strict-transport-security"), "max-age=31536000");
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");

    // The console is not part of the API's document.
    let doc: Value = client
        .get(format!("{base}/v1/openapi.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(!paths.is_empty());
    assert!(
        paths.keys().all(|p| p != "/" && !p.starts_with("/console")),
        "{:?}",
        paths.keys().collect::<Vec<_>>()
    );

    // A 401 challenges Basic for a program, never a browser (whose own
    // password dialog would then send the password with every request).
    let r = client.get(format!("{base}/v1/whoami")).send().unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&r, "www-authenticate").starts_with("Basic"));
    let r = client
        .get(format!("{base}/v1/whoami"))
        .header("Sec-Fetch-Mode", "cors")
        .header("Sec-Fetch-Site", "same-origin")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&r, "www-authenticate"), "Bearer realm=\"skms\"");
    let r = client
        .get(format!("{base}/console/session"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(!header(&r, "www-authenticate").starts_with("Basic"));
    assert_console_headers(&r, "GET /console/session");

    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn console_sessions_are_cookies_and_changes_need_the_csrf_token() {
    let dir = common::temp_dir("console-session");
    let server = common::serve(&dir);
    let (client, base) = console_client(&server);
    let acme = server.tenant("Acme", "vcenter");
    let admin = acme.admin.clone();
    let origin = base.clone();

    // A wrong password: 401 like POST /v1/session, no cookie.
    let r = client
        .post(format!("{base}/console/session"))
        .json(&json!({ "username": admin.user, "password": "not-the-password" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookies(r.headers()).is_empty());
    let v: Value = r.json().unwrap();
    assert_eq!(v["code"], "unauthorized", "{v}");

    // A sign-in posted by another site's page is refused.
    assert_cross_site_refused(
        call(
            client
                .post(format!("{base}/console/session"))
                .header("Origin", "https://evil.example")
                .json(&json!({ "username": admin.user, "password": admin.password })),
        ),
        "sign-in from another origin",
    );

    // Sign in: the three cookies; the page reloads and knows who it is.
    let r = client
        .post(format!("{base}/console/session"))
        .header("Origin", &origin)
        .json(&json!({ "username": admin.user, "password": admin.password }))
        .send()
        .unwrap();
    assert_console_headers(&r, "POST /console/session");
    let (console, body) = signed_in(r, &admin);
    assert_eq!(body["user"]["role"], "account-admin", "{body}");
    let (status, v) = call(
        client
            .get(format!("{base}/console/session"))
            .header("Cookie", console.cookies()),
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["csrf_token"], json!(console.csrf), "{v}");
    assert_eq!(v["user"]["name"], json!(admin.user), "{v}");
    assert_eq!(v["must_change_password"], json!(false), "{v}");

    // The API takes the cookie for reading.
    let (status, v) = call(
        client
            .get(format!("{base}/v1/whoami"))
            .header("Cookie", console.cookies()),
    );
    assert_eq!(
        (status, &v["name"]),
        (StatusCode::OK, &json!(admin.user)),
        "{v}"
    );

    // A change with the cookie alone, a wrong token, or another site's Origin: refused, nothing made.
    let post_group = |name: &str| {
        client
            .post(format!("{base}/v1/groups"))
            .header("Cookie", console.cookies())
            .json(&json!({ "name": name }))
    };
    assert_cross_site_refused(call(post_group("g-no-token")), "no X-CSRF-Token");
    assert_cross_site_refused(
        call(post_group("g-wrong-token").header("X-CSRF-Token", "0".repeat(64))),
        "a wrong X-CSRF-Token",
    );
    assert_cross_site_refused(
        call(post_group("g-short-token").header("X-CSRF-Token", &console.csrf[..63])),
        "a truncated X-CSRF-Token",
    );
    assert_cross_site_refused(
        call(
            post_group("g-foreign-origin")
                .header("X-CSRF-Token", &console.csrf)
                .header("Origin", "https://evil.example"),
        ),
        "another site's Origin",
    );
    assert_cross_site_refused(
        call(
            post_group("g-http-origin")
                .header("X-CSRF-Token", &console.csrf)
                .header("Origin", format!("http://127.0.0.1:{}", server.https_port)),
        ),
        "a plain-HTTP Origin",
    );
    let groups = group_names(&client, &base, &admin);
    assert!(
        groups.iter().all(|g| !g.starts_with("g-")),
        "a refused request made nothing: {groups:?}"
    );

    // With the token (and this server's Origin, or none): made.
    let (status, v) = call(
        post_group("g-console")
            .header("X-CSRF-Token", &console.csrf)
            .header("Origin", &origin),
    );
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (status, v) = call(post_group("g-console-2").header("X-CSRF-Token", &console.csrf));
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let groups = group_names(&client, &base, &admin);
    assert!(groups.contains(&"g-console".to_string()), "{groups:?}");

    // An Authorization header is what counts for programs: no CSRF token asked.
    let (status, v) = call(
        client
            .post(format!("{base}/v1/groups"))
            .header("Cookie", console.cookies())
            .basic_auth(&admin.user, Some(&admin.password))
            .json(&json!({ "name": "g-basic" })),
    );
    assert_eq!(status, StatusCode::CREATED, "{v}");
    // …but a change sent by another site's page is refused whatever its credentials
    // (a browser that kept a Basic login sends it on its own).
    assert_cross_site_refused(
        call(
            client
                .post(format!("{base}/v1/groups"))
                .header("Origin", "https://evil.example")
                .basic_auth(&admin.user, Some(&admin.password))
                .json(&json!({ "name": "g-basic-evil" })),
        ),
        "Basic from another origin",
    );

    // The audit log records the console's changes as the user.
    let (status, v) = call(
        client
            .get(format!("{base}/v1/audit"))
            .query(&[("operation", "rest.POST /v1/groups"), ("limit", "100")])
            .basic_auth(&admin.user, Some(&admin.password)),
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    let records = v["records"].as_array().unwrap();
    let by_user_ok = records
        .iter()
        .filter(|r| r["actor"] == json!(admin.user) && r["actor_kind"] == "user")
        .filter(|r| r["result"] == "success")
        .count();
    assert_eq!(by_user_ok, 3, "two console groups and the Basic one: {v}");
    assert!(
        records
            .iter()
            .any(|r| r["result"] == "failure" && r["reason"] == "403 Forbidden"),
        "a refused cross-site change is recorded as the user's failure: {v}"
    );
    let (status, v) = call(
        client
            .get(format!("{base}/v1/audit"))
            .query(&[("operation", "rest.POST /console/session")])
            .basic_auth(&admin.user, Some(&admin.password)),
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["actor"] == json!(admin.user) && r["result"] == "success"),
        "the sign-in is recorded: {v}"
    );
    // The failed sign-in, like a failed REST one (the provider's log: no account is known).
    let (status, v) = call(
        client
            .get(format!("{base}/v1/audit"))
            .query(&[("operation", "auth.console.password")])
            .basic_auth(&server.sysadmin().user, Some(&server.sysadmin().password)),
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(
        v["records"].as_array().unwrap().iter().any(|r| {
            r["actor"] == json!(admin.user)
                && r["actor_kind"] == "anonymous"
                && r["result"] == "failure"
        }),
        "{v}"
    );

    // Refresh: needs the token; rotates every cookie and the token.
    let refresh = |c: &Console| {
        client
            .post(format!("{base}/console/session/refresh"))
            .header("Cookie", c.session_cookies())
    };
    assert_cross_site_refused(call(refresh(&console)), "refresh without X-CSRF-Token");
    let r = refresh(&console)
        .header("X-CSRF-Token", &console.csrf)
        .header("Origin", &origin)
        .send()
        .unwrap();
    let (renewed, _) = signed_in(r, &admin);
    assert_ne!(renewed.session, console.session);
    assert_ne!(renewed.refresh, console.refresh);
    assert_ne!(renewed.csrf, console.csrf);
    // The old token does not pass with the new session; the new one does.
    let new_cookie_old_token = client
        .post(format!("{base}/v1/groups"))
        .header("Cookie", renewed.cookies())
        .header("X-CSRF-Token", &console.csrf)
        .json(&json!({ "name": "g-old-token" }));
    assert_cross_site_refused(call(new_cookie_old_token), "the token before the refresh");
    let (status, v) = call(
        client
            .post(format!("{base}/v1/groups"))
            .header("Cookie", renewed.cookies())
            .header("X-CSRF-Token", &renewed.csrf)
            .json(&json!({ "name": "g-renewed" })),
    );
    assert_eq!(status, StatusCode::CREATED, "{v}");
    // The old session cookie no longer signs in.
    let (status, v) = call(
        client
            .get(format!("{base}/v1/whoami"))
            .header("Cookie", console.cookies()),
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");

    // Sign-out: needs the token; ends the session; clears the cookies.
    let sign_out = |c: &Console| {
        client
            .delete(format!("{base}/console/session"))
            .header("Cookie", c.session_cookies())
    };
    assert_cross_site_refused(call(sign_out(&renewed)), "sign-out without X-CSRF-Token");
    let (status, _) = call(
        client
            .get(format!("{base}/v1/whoami"))
            .header("Cookie", renewed.cookies()),
    );
    assert_eq!(status, StatusCode::OK, "a refused sign-out changes nothing");
    let r = sign_out(&renewed)
        .header("X-CSRF-Token", &renewed.csrf)
        .header("Origin", &origin)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_cleared(&r, "sign-out");
    for path in ["/v1/whoami", "/console/session"] {
        let (status, v) = call(
            client
                .get(format!("{base}{path}"))
                .header("Cookie", renewed.cookies()),
        );
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{path} after sign-out: {v}"
        );
    }
    // Its refresh token is refused too, and the answer clears the cookies.
    let r = refresh(&renewed)
        .header("X-CSRF-Token", &renewed.csrf)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_cleared(&r, "a refused refresh");

    // DELETE /v1/session ends a console session too (with its token).
    let (again, _) = console_sign_in(&client, &base, &admin);
    let (status, v) = call(
        client
            .delete(format!("{base}/v1/session"))
            .header("Cookie", again.cookies())
            .header("X-CSRF-Token", &again.csrf),
    );
    assert_eq!(status, StatusCode::NO_CONTENT, "{v}");
    let (status, _) = call(
        client
            .get(format!("{base}/v1/whoami"))
            .header("Cookie", again.cookies()),
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A name tried too often is locked: 429 with Retry-After, as on /v1/session.
    let mut locked = None;
    for _ in 0..8 {
        let r = client
            .post(format!("{base}/console/session"))
            .json(&json!({ "username": "nobody-here", "password": "wrong-password" }))
            .send()
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            locked = Some(header(&r, "retry-after"));
            break;
        }
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let retry_after = locked.expect("locked after repeated failures");
    assert!(retry_after.parse::<u64>().unwrap() >= 1, "{retry_after}");

    let groups = group_names(&client, &base, &admin);
    for refused in [
        "g-no-token",
        "g-wrong-token",
        "g-short-token",
        "g-foreign-origin",
        "g-http-origin",
        "g-basic-evil",
        "g-old-token",
    ] {
        assert!(
            !groups.contains(&refused.to_string()),
            "{refused}: {groups:?}"
        );
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- a real browser ----

/// Headless Chromium driven over the DevTools protocol on a pipe
/// (`--remote-debugging-pipe`: commands on its fd 3, answers on its fd 4,
/// each a JSON text ended by NUL), wired to two FIFOs by the shell.
struct Chromium {
    child: common::Killed,
    commands: std::fs::File,
    answers: std::sync::mpsc::Receiver<Value>,
    next_id: u64,
    session: Option<String>,
}

impl Chromium {
    /// Starts it with a fresh profile in `dir`, and a page to drive.
    fn start(dir: &Path) -> Chromium {
        let exe = std::env::var("SKMS_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        assert!(
            Path::new(&exe).exists(),
            "Chromium is missing at {exe}: apt-get install -y chromium (or set SKMS_CHROMIUM)"
        );
        std::fs::create_dir_all(dir).unwrap();
        let (to, from) = (dir.join("to-chromium"), dir.join("from-chromium"));
        for fifo in [&to, &from] {
            let _ = std::fs::remove_file(fifo);
            let ok = std::process::Command::new("mkfifo")
                .arg(fifo)
                .status()
                .unwrap();
            assert!(ok.success(), "mkfifo");
        }
        let child = std::process::Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<"$TO" 4>"$FROM""#)
            .arg(&exe)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--ignore-certificate-errors",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .arg("about:blank")
            .env("TO", &to)
            .env("FROM", &from)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let child = common::Killed(child);
        // The shell opens `to` (read) then `from` (write); open them in that order.
        let commands = std::fs::OpenOptions::new().write(true).open(&to).unwrap();
        let reader = std::fs::File::open(&from).unwrap();
        let (tx, answers) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(reader);
            loop {
                let mut message = Vec::new();
                match reader.read_until(0, &mut message) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                message.pop();
                let Ok(v) = serde_json::from_slice::<Value>(&message) else {
                    continue;
                };
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let mut browser = Chromium {
            child,
            commands,
            answers,
            next_id: 0,
            session: None,
        };
        let target = browser.call("Target.createTarget", json!({ "url": "about:blank" }));
        let target = target["targetId"].as_str().unwrap().to_string();
        let attached = browser.call(
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
        );
        browser.session = Some(attached["sessionId"].as_str().unwrap().to_string());
        browser
    }

    /// Sends a command (to the page once attached) and waits for its answer's result.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.try_call(method, params)
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// Like [`Chromium::call`]; the protocol error as text.
    fn try_call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = &self.session {
            message["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.commands.write_all(&bytes).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let answer = self
                .answers
                .recv_timeout(left)
                .map_err(|_| "Chromium did not answer in time".to_string())?;
            if answer["id"] != json!(id) {
                continue; // an event, or an earlier answer
            }
            if let Some(e) = answer.get("error") {
                return Err(e.to_string());
            }
            return Ok(answer["result"].clone());
        }
    }

    /// Evaluates `expression` in the page (awaiting a promise): its value.
    fn eval(&mut self, expression: &str) -> Result<Value, String> {
        let r = self.try_call(
            "Runtime.evaluate",
            json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
        )?;
        if let Some(e) = r.get("exceptionDetails") {
            return Err(e.to_string());
        }
        Ok(r["result"]["value"].clone())
    }

    /// Opens `url` and waits (30 s at most) until a page whose address starts
    /// with `landing` has loaded; that page's text.
    fn open(&mut self, url: &str, landing: &str) -> String {
        self.call("Page.navigate", json!({ "url": url }));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let state = self.eval("location.href + ' ' + document.readyState");
            if let Ok(Value::String(s)) = &state {
                if s.starts_with(landing) && s.ends_with(" complete") {
                    if let Ok(Value::String(text)) = self.eval("document.body.innerText") {
                        return text;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "{url} did not lead to {landing}: {state:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        self.session = None;
        let _ = self.try_call("Browser.close", json!({}));
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.child.0.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        // Still running: `Killed` kills it.
    }
}

/// A tiny web server on a loopback port (plain HTTP, or HTTPS with a
/// self-signed certificate) that answers `GET /` with `page`, anything else
/// with 404: the other site. Its port.
fn other_site(page: String, tls: Option<std::sync::Arc<rustls::ServerConfig>>) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
            let page = page.clone();
            let tls = tls.clone();
            std::thread::spawn(move || match tls {
                Some(config) => {
                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    answer(rustls::StreamOwned::new(conn, tcp), &page);
                }
                None => answer(tcp, &page),
            });
        }
    });
    port
}

/// Reads one request's head from `stream` and answers it (then closes).
fn answer(mut stream: impl Read + Write, page: &str) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let first = String::from_utf8_lossy(&head);
    let (status, body) = if first.starts_with("GET / ") {
        ("200 OK", page)
    } else {
        ("404 Not Found", "")
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// A page that, once loaded, posts a form to the API as a browser would for
/// any site: `name` is the group it tries to create.
fn forging_page(api: &str, name: &str) -> String {
    // text/plain: the body is `{"name":"…","pad":"="}`, what a form can make of JSON.
    format!(
        r#"<!doctype html><html><body>
<form id="f" method="POST" action="{api}/v1/groups" enctype="text/plain">
<input type="hidden" name='{{"name":"{name}","pad":"' value='"}}'>
</form>
<script>document.getElementById("f").submit();</script>
</body></html>"#
    )
}

/// A rustls server configuration with a self-signed certificate made by openssl in `dir`.
fn self_signed_tls(dir: &Path) -> std::sync::Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    std::fs::create_dir_all(dir).unwrap();
    common::self_signed_p256(
        dir,
        "other-site",
        "/CN=127.0.0.1",
        &["-addext", "subjectAltName=IP:127.0.0.1"],
    );
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(dir.join("other-site.crt"))
            .unwrap()
            .map(|c| c.unwrap())
            .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("other-site.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    std::sync::Arc::new(config)
}

#[test]
fn a_page_of_another_site_cannot_act_with_the_console_session() {
    let dir = common::temp_dir("console-browser");
    let server = common::serve(&dir.join("data"));
    let (client, base) = console_client(&server);
    let acme = server.tenant("Acme", "vcenter");
    let admin = acme.admin.clone();
    let mut browser = Chromium::start(&dir.join("chromium"));

    // Sign in within the browser, from a page of the server, as the console does.
    browser.open(&format!("{base}/v1/health"), &base);
    let sign_in = format!(
        r#"fetch("/console/session", {{method: "POST", headers: {{"Content-Type": "application/json"}},
            body: JSON.stringify({{username: {user}, password: {password}}})}}).then(r => r.status)"#,
        user = json!(admin.user),
        password = json!(admin.password),
    );
    assert_eq!(browser.eval(&sign_in).unwrap(), json!(200));
    // The page sees the CSRF token's cookie, never the session's.
    let cookies = browser.eval("document.cookie").unwrap();
    let cookies = cookies.as_str().unwrap();
    assert!(cookies.contains("skms_csrf="), "{cookies}");
    assert!(!cookies.contains("skms_session"), "HttpOnly: {cookies}");
    let whoami = r#"fetch("/v1/whoami").then(r => r.json()).then(v => v.name)"#;
    assert_eq!(browser.eval(whoami).unwrap(), json!(admin.user));
    // The same page without the token is refused; with it, it acts.
    let post = |name: &str, with_token: bool| {
        format!(
            r#"fetch("/v1/groups", {{method: "POST", headers: Object.assign({{"Content-Type": "application/json"}},
                {token}), body: JSON.stringify({{name: "{name}"}})}}).then(r => r.status)"#,
            token = if with_token {
                r#"{"X-CSRF-Token": document.cookie.split("; ").find(c => c.startsWith("skms_csrf=")).slice(10)}"#
            } else {
                "{}"
            }
        )
    };
    assert_eq!(
        browser.eval(&post("b-no-token", false)).unwrap(),
        json!(403)
    );
    assert_eq!(browser.eval(&post("b-console", true)).unwrap(), json!(201));

    // Another site over plain HTTP (schemefully cross-site: the browser does
    // not even send the cookie) and another over HTTPS on another port (same
    // site: the browser sends the SameSite=Strict cookie, the server refuses).
    let http_site = other_site(forging_page(&base, "b-evil-http"), None);
    let text = browser.open(
        &format!("http://127.0.0.1:{http_site}/"),
        &format!("{base}/v1/groups"),
    );
    assert!(
        text.contains("\"unauthorized\"") || text.contains("cross-site request refused"),
        "{text}"
    );
    let tls = self_signed_tls(&dir.join("other-site"));
    let https_site = other_site(forging_page(&base, "b-evil-https"), Some(tls));
    let text = browser.open(
        &format!("https://127.0.0.1:{https_site}/"),
        &format!("{base}/v1/groups"),
    );
    assert!(text.contains("cross-site request refused"), "{text}");
    assert!(text.contains("\"forbidden\""), "{text}");

    // Nothing was made; the console's own group was; the session still works.
    let groups = group_names(&client, &base, &admin);
    assert!(groups.contains(&"b-console".to_string()), "{groups:?}");
    for refused in ["b-no-token", "b-evil-http", "b-evil-https"] {
        assert!(
            !groups.contains(&refused.to_string()),
            "{refused}: {groups:?}"
        );
    }
    browser.open(&format!("{base}/v1/health"), &base);
    assert_eq!(browser.eval(whoami).unwrap(), json!(admin.user));

    drop(browser);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
