//! `skms account|group|app|ca-cert`: administration through the server's REST
//! API, as the provider's sysadmin (accounts) or an account's admin (groups,
//! apps, credentials and certificates). `skms sysadmin reset-password` is the
//! one command that works on the data directory itself, for a lost login.

use crate::profile::{self, Profile, Tokens};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::path::PathBuf;
use std::process::ExitCode;
use zeroize::Zeroizing;

/// Where the REST API is when nothing says otherwise.
const DEFAULT_SERVER: &str = "https://localhost:8443";

/// How to reach and sign in to the REST API, and how to print its answers:
/// the flags of every REST command. Flags and environment variables come
/// first, then the saved login profile (`skms login`), then the defaults.
#[derive(clap::Args, Clone)]
pub struct Conn {
    /// Base address of the REST API [env SKMS_SERVER; default: the profile's, else https://localhost:8443]
    #[arg(long, global = true, value_name = "URL")]
    server: Option<String>,
    /// The server's CA certificate (PEM) to trust [env SKMS_CA_CERT; default: the profile's, else ./skms-data/ca.crt]
    #[arg(long, global = true, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Login name of a user (sysadmin or account admin) [env SKMS_USER; default: the profile's]
    #[arg(long, global = true, value_name = "NAME")]
    user: Option<String>,
    /// File whose first line is the password; signs in with it rather than the profile's session [default: env SKMS_PASSWORD]
    #[arg(long, global = true, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// The saved login profile to use [env SKMS_PROFILE; default "default"]
    #[arg(long, global = true, value_name = "NAME")]
    profile: Option<String>,
    /// How to print answers: a table or key: value lines for people, or the server's JSON [env SKMS_OUTPUT; default table]
    #[arg(long, global = true, value_name = "FORMAT")]
    output: Option<Output>,
    /// The same as --output json
    #[arg(long, global = true, hide = true)]
    json: bool,
}

/// How answers are printed.
#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Tables (lists) and key: value lines (one object), for people.
    Table,
    /// The server's JSON answer, pretty-printed.
    Json,
}

/// A non-blank environment variable.
pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Conn {
    /// The name of the login profile.
    pub(crate) fn profile_name(&self) -> String {
        self.profile
            .clone()
            .or_else(|| env("SKMS_PROFILE"))
            .unwrap_or_else(|| "default".into())
    }

    /// The server asked for (flag or environment), if any.
    pub(crate) fn server(&self) -> Option<String> {
        self.server
            .clone()
            .or_else(|| env("SKMS_SERVER"))
            .map(|s| s.trim_end_matches('/').to_string())
    }

    /// The login name given (flag or environment), if any.
    pub(crate) fn user(&self) -> Option<String> {
        self.user.clone().or_else(|| env("SKMS_USER"))
    }

    /// The password given (file or environment), if any.
    pub(crate) fn password(&self) -> Result<Option<Zeroizing<String>>, String> {
        Ok(match &self.password_file {
            Some(p) => Some(first_line(p)?),
            None => env("SKMS_PASSWORD").map(Zeroizing::new),
        })
    }

    /// The output format: --json, --output, SKMS_OUTPUT, else a table.
    pub(crate) fn output(&self) -> Result<Output, String> {
        if self.json {
            return Ok(Output::Json);
        }
        if let Some(o) = self.output {
            return Ok(o);
        }
        match env("SKMS_OUTPUT").as_deref().map(str::trim) {
            None | Some("table") => Ok(Output::Table),
            Some("json") => Ok(Output::Json),
            Some(o) => Err(format!("SKMS_OUTPUT={o:?}: expected table or json")),
        }
    }
}

/// The first line of `path` (a password file), wiped when dropped.
pub(crate) fn first_line(path: &std::path::Path) -> Result<Zeroizing<String>, String> {
    let all = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
    );
    Ok(Zeroizing::new(all.lines().next().unwrap_or("").to_string()))
}

/// Where the REST API is, and a client that trusts its CA.
pub(crate) struct Endpoint {
    /// The client.
    pub(crate) client: Client,
    /// Base address, without a trailing `/`.
    pub(crate) base: String,
    /// The CA certificate file the client trusts.
    pub(crate) ca: PathBuf,
}

impl Endpoint {
    /// The server and CA of the flags and environment, else of `profile`, else the defaults.
    pub(crate) fn new(conn: &Conn, profile: Option<&Profile>) -> Result<Self, String> {
        let base = Self::base(conn, profile);
        if !base.starts_with("https://") {
            return Err(format!(
                "the server address {base:?} must start with https://"
            ));
        }
        let ca = conn
            .ca_cert
            .clone()
            .or_else(|| env("SKMS_CA_CERT").map(PathBuf::from))
            .or_else(|| profile.and_then(|p| p.ca_cert.clone()))
            .unwrap_or_else(|| PathBuf::from("./skms-data/ca.crt"));
        let pem = std::fs::read(&ca).map_err(|e| {
            format!(
                "cannot read the server's CA certificate {}: {e} (give it with --ca-cert, \
                 or fetch it with `skms ca-cert --insecure-download`)",
                ca.display()
            )
        })?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| format!("{}: not a PEM certificate: {e}", ca.display()))?;
        let client = Client::builder()
            .tls_certs_only([cert])
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot set up TLS: {e}"))?;
        Ok(Endpoint { client, base, ca })
    }

    /// The base address of the flags and environment, else of `profile`, else the default.
    fn base(conn: &Conn, profile: Option<&Profile>) -> String {
        conn.server()
            .or_else(|| profile.map(|p| p.server.clone()))
            .unwrap_or_else(|| DEFAULT_SERVER.into())
    }

    /// The URL of `path` (`/v1/…`).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Why a request did not reach the server, and what to do about it.
    pub(crate) fn unreachable(&self, e: &reqwest::Error) -> String {
        unreachable(&self.base, Some(&self.ca), e)
    }
}

/// Why a request to `base` failed before any answer: a refused connection
/// and a certificate `ca` does not verify get what to do about them.
fn unreachable(base: &str, ca: Option<&std::path::Path>, e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut causes: Vec<String> = Vec::new();
    let mut next: Option<&(dyn Error + 'static)> = Some(e);
    while let Some(err) = next {
        let io = err.downcast_ref::<std::io::Error>();
        if io.is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused) {
            return format!(
                "cannot reach the server at {base}: connection refused. Is it running there? \
                 Give its address with --server URL (or SKMS_SERVER), or save it with \
                 `skms login --server URL`"
            );
        }
        if let Some(tls @ rustls::Error::InvalidCertificate(_)) =
            err.downcast_ref::<rustls::Error>()
        {
            let against = ca
                .map(|c| format!(" against {}", c.display()))
                .unwrap_or_default();
            return format!(
                "the server at {base} is not trusted: its certificate does not verify{against} \
                 ({tls}). Pass the server's CA certificate with --ca-cert FILE; \
                 `skms ca-cert --server {base} --insecure-download --out FILE` downloads it \
                 (compare its fingerprint with the one `skms serve` printed)"
            );
        }
        let text = err.to_string();
        if !causes.iter().any(|c| c.contains(&text)) {
            causes.push(text);
        }
        // An I/O error hides what it wraps from `source()`: look inside.
        next = match io.and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn Error + 'static)),
            None => err.source(),
        };
    }
    format!("cannot reach the server at {base}: {}", causes.join(": "))
}

/// How the requests sign in.
enum Auth {
    /// HTTP Basic with a password given on the command line or in the environment.
    Basic {
        user: String,
        password: Zeroizing<String>,
    },
    /// The bearer token of a saved profile's session, refreshed when it ends
    /// (a profile without one, signed out, says to sign in again).
    Session {
        name: String,
        profile: RefCell<Profile>,
    },
}

/// A REST client with its credentials and output format.
pub(crate) struct Api {
    endpoint: Endpoint,
    auth: Auth,
    pub(crate) output: Output,
}

impl Api {
    /// The API as the flags, the environment and the saved profile say: a
    /// password given signs in (Basic), else the profile's session (Bearer).
    pub(crate) fn new(conn: &Conn) -> Result<Self, String> {
        let (name, saved) = profile::for_server(conn)?;
        let auth = match (conn.password()?, &saved) {
            (Some(password), saved) => Auth::Basic {
                user: conn
                    .user()
                    .or_else(|| saved.as_ref().and_then(|p| p.user.clone()))
                    .ok_or("give the login name with --user (or SKMS_USER)")?,
                password,
            },
            // Another --user than the profile's gets no session of it.
            (None, Some(p)) if conn.user().is_none_or(|u| Some(&u) == p.user.as_ref()) => {
                Auth::Session {
                    name,
                    profile: RefCell::new(p.clone()),
                }
            }
            (None, _) => {
                return Err(format!(
                    "not signed in to {}: run `skms login` (or give --user with \
                     --password-file or SKMS_PASSWORD)",
                    Endpoint::base(conn, saved.as_ref())
                ))
            }
        };
        let endpoint = Endpoint::new(conn, saved.as_ref())?;
        Ok(Api {
            endpoint,
            auth,
            output: conn.output()?,
        })
    }

    /// The API as the saved session `profile` (named `name`) signs in to it.
    pub(crate) fn session(conn: &Conn, name: &str, profile: Profile) -> Result<Self, String> {
        Ok(Api {
            endpoint: Endpoint::new(conn, Some(&profile))?,
            auth: Auth::Session {
                name: name.to_string(),
                profile: RefCell::new(profile),
            },
            output: conn.output()?,
        })
    }

    /// Base address of the REST API.
    fn base(&self) -> &str {
        &self.endpoint.base
    }

    /// A request to `path`, to give to [`Api::execute`] (which signs it).
    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.endpoint
            .client
            .request(method, self.endpoint.url(path))
    }

    /// Sends `req`, signed; refreshes an ended session (once) and sends it
    /// again. The answer if it succeeded, else why not.
    pub(crate) fn execute(&self, req: RequestBuilder) -> Result<Response, String> {
        if self.tokens().is_some_and(|t| t.expired()) {
            self.refresh()?;
        }
        let again = req.try_clone();
        let mut resp = self
            .sign(req)?
            .send()
            .map_err(|e| self.endpoint.unreachable(&e))?;
        if let (StatusCode::UNAUTHORIZED, Some(again), Some(_)) =
            (resp.status(), again, self.tokens())
        {
            self.refresh()?;
            resp = self
                .sign(again)?
                .send()
                .map_err(|e| self.endpoint.unreachable(&e))?;
        }
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        Err(refusal(status, &resp.json().unwrap_or(Value::Null)))
    }

    /// Sends `req` and returns the JSON answer (null if none), or why not.
    pub(crate) fn send(&self, req: RequestBuilder) -> Result<Value, String> {
        Ok(self.execute(req)?.json().unwrap_or(Value::Null))
    }

    /// The saved session's tokens, when signing in with them.
    fn tokens(&self) -> Option<Tokens> {
        match &self.auth {
            Auth::Session { profile, .. } => profile.borrow().session.clone(),
            _ => None,
        }
    }

    /// `req` with the credentials.
    fn sign(&self, req: RequestBuilder) -> Result<RequestBuilder, String> {
        match (&self.auth, self.tokens()) {
            (Auth::Basic { user, password }, _) => {
                Ok(req.basic_auth(user, Some(password.as_str())))
            }
            (Auth::Session { .. }, Some(t)) => Ok(req.bearer_auth(t.access_token.as_str())),
            (Auth::Session { .. }, None) => Err(self.ended()),
        }
    }

    /// The error of a session that cannot go on.
    pub(crate) fn ended(&self) -> String {
        let flag = match &self.auth {
            Auth::Session { name, .. } if name != "default" => format!(" --profile {name}"),
            _ => String::new(),
        };
        format!(
            "your session for {} has ended: run `skms login{flag}`",
            self.base()
        )
    }

    /// Exchanges the session's refresh token for a new pair and saves it; if
    /// the server refuses, deletes the saved tokens and says the session ended.
    fn refresh(&self) -> Result<(), String> {
        let Auth::Session { name, profile } = &self.auth else {
            return Ok(());
        };
        let Some(mine) = self.tokens() else {
            return Err(self.ended());
        };
        // Another `skms` may have refreshed since this one read the profile:
        // take its pair rather than spend the old refresh token again (the
        // server ends a session whose refresh token is used twice).
        if let Some(theirs) = profile::load(name)?.and_then(|p| p.session) {
            if *theirs.refresh_token != *mine.refresh_token && !theirs.expired() {
                profile.borrow_mut().session = Some(theirs);
                return Ok(());
            }
        }
        let resp = self
            .endpoint
            .client
            .post(self.endpoint.url("/v1/session/refresh"))
            .json(&json!({ "refresh_token": mine.refresh_token.as_str() }))
            .send()
            .map_err(|e| self.endpoint.unreachable(&e))?;
        let status = resp.status();
        let answer: Value = resp.json().unwrap_or(Value::Null);
        let fresh = match status {
            s if s.is_success() => Some(Tokens::from_answer(&answer)?),
            StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST => None,
            s => return Err(refusal(s, &answer)),
        };
        let ended = fresh.is_none();
        profile.borrow_mut().session = fresh;
        profile::save(name, &profile.borrow())?;
        match ended {
            true => Err(self.ended()),
            false => Ok(()),
        }
    }

    /// The password the commands sign in with, if given.
    pub(crate) fn password(&self) -> Option<&str> {
        match &self.auth {
            Auth::Basic { password, .. } => Some(password.as_str()),
            _ => None,
        }
    }

    pub(crate) fn get(&self, path: &str) -> Result<Value, String> {
        self.send(self.request(Method::GET, path))
    }

    pub(crate) fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        self.send(self.request(Method::POST, path).json(&body))
    }

    fn post_pem(&self, path: &str, file: &PathBuf) -> Result<Value, String> {
        let pem = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        self.send(
            self.request(Method::POST, path)
                .header("content-type", "application/x-pem-file")
                .body(pem),
        )
    }

    /// The id of the app named `which` (a UUID is taken as is).
    pub(crate) fn app_id(&self, which: &str) -> Result<String, String> {
        if which.trim().len() == 36 && which.trim().chars().filter(|c| *c == '-').count() == 4 {
            return Ok(which.trim().to_lowercase());
        }
        let apps = self.get("/v1/apps")?;
        apps.as_array()
            .into_iter()
            .flatten()
            .find(|a| a["name"].as_str() == Some(which.trim()))
            .and_then(|a| a["id"].as_str().map(str::to_string))
            .ok_or_else(|| format!("no app named {which:?} in your account"))
    }

    /// Prints `value` as [`Output::show`] does.
    pub(crate) fn show(&self, value: &Value, text: impl FnOnce(&Value) -> String) {
        self.output.show(value, text)
    }
}

impl Output {
    /// Prints `value` (the server's answer): pretty JSON, or `text(value)`
    /// for people (made with [`table`] or [`fields`]). An empty answer prints
    /// nothing as JSON.
    pub(crate) fn show(self, value: &Value, text: impl FnOnce(&Value) -> String) {
        match self {
            Output::Json if value.is_null() => {}
            Output::Json => println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_default()
            ),
            Output::Table => {
                let text = text(value);
                if !text.trim().is_empty() {
                    println!("{}", text.trim_end());
                }
            }
        }
    }
}

/// A column of a [`table`]: its header, and its cell in a row.
pub(crate) type Column = (&'static str, fn(&Value) -> String);

/// The elements of the JSON array `rows` as a table for people: a header
/// row, then a row each, columns aligned; an empty cell is `-`.
pub(crate) fn table(rows: &Value, columns: &[Column]) -> String {
    let mut grid = vec![columns
        .iter()
        .map(|(header, _)| header.to_string())
        .collect::<Vec<_>>()];
    for row in rows.as_array().into_iter().flatten() {
        grid.push(
            columns
                .iter()
                .map(|(_, cell)| match cell(row).replace('\n', " ") {
                    c if c.trim().is_empty() => "-".to_string(),
                    c => c,
                })
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..columns.len())
        .map(|i| grid.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    grid.iter()
        .map(|r| {
            let line: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            line.join("  ").trim_end().to_string() + "\n"
        })
        .collect()
}

/// One object for people: a `key: value` line each.
pub(crate) fn fields(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}: {v}").trim_end().to_string() + "\n")
        .collect()
}

/// A date for people: `2030-01-02 03:04:05 UTC` (`ts` in seconds since the epoch).
pub(crate) fn utc(ts: i64) -> String {
    // Days since the epoch to a civil date (H. Hinnant's algorithm).
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The server's message, then its code and the request id (which the
/// server's log has too), from the API's error body `{"code", "message",
/// "request_id"}`.
pub(crate) fn server_says(body: &Value) -> String {
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no reason given");
    let mut detail = Vec::new();
    if let Some(code) = body.get("code").and_then(Value::as_str) {
        detail.push(code.to_string());
    }
    if let Some(id) = body.get("request_id").and_then(Value::as_str) {
        detail.push(format!("request id {id}"));
    }
    match detail.is_empty() {
        true => message.to_string(),
        false => format!("{message} [{}]", detail.join("; ")),
    }
}

/// The error line of a refusal (see [`server_says`]).
pub(crate) fn refusal(status: StatusCode, body: &Value) -> String {
    match status {
        StatusCode::UNAUTHORIZED => format!("not signed in: {}", server_says(body)),
        _ => format!("the server refused ({status}): {}", server_says(body)),
    }
}

pub(crate) fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// The strings of the array `v`, comma-separated.
fn list(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| s(x).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// One line per element of the array `v`, each made by `line`.
fn lines(v: &Value, line: impl Fn(&Value) -> String) -> String {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|x| line(x) + "\n")
        .collect()
}

fn app_text(a: &Value) -> String {
    fields(&[
        ("app", s(&a["name"]).into()),
        ("id", s(&a["id"]).into()),
        ("description", s(&a["description"]).into()),
        ("interfaces", list(&a["interfaces"])),
        ("authentication", s(&a["auth_method"]).into()),
        (
            "groups",
            format!(
                "{} (default {})",
                list(&a["groups"]),
                s(&a["default_group"])
            ),
        ),
        ("enabled", a["enabled"].to_string()),
        (
            "pinned certificates (SHA-256)",
            list(&a["pinned_certificates"]),
        ),
        ("trusted CAs", list(&a["trusted_cas"])),
    ])
}

fn credentials_text(c: &Value) -> String {
    fields(&[
        ("app id (KMIP username)", s(&c["username"]).into()),
        ("secret (KMIP password)", s(&c["password"]).into()),
    ])
}

/// `skms account …` (as a sysadmin).
#[derive(clap::Subcommand)]
pub enum AccountCommand {
    /// Create an account (a tenant) with its key, its default group and its first admin.
    Create {
        /// Unique name of the account.
        name: String,
        /// Login name of the account's first admin [default: <name>-admin]
        #[arg(long, value_name = "LOGIN")]
        admin: Option<String>,
    },
    /// List the accounts.
    List,
    /// Usage counts of an account (apps, users, groups, objects by state; never a value).
    Usage {
        /// The account's name or id.
        account: String,
    },
    /// Disable an account: its apps and users can no longer authenticate.
    Disable {
        /// The account's name or id.
        account: String,
    },
    /// Enable a disabled account.
    Enable {
        /// The account's name or id.
        account: String,
    },
    /// Delete an account that holds no live object any more (its audit log stays).
    Delete {
        /// The account's name or id.
        account: String,
    },
}

/// The id of the account named `which` (an id is taken as is).
fn account_id(api: &Api, which: &str) -> Result<String, String> {
    let accounts = api.get("/v1/accounts")?;
    accounts
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| {
            a["name"].as_str() == Some(which.trim()) || a["id"].as_str() == Some(which.trim())
        })
        .and_then(|a| a["id"].as_str().map(str::to_string))
        .ok_or_else(|| format!("no account {which:?}"))
}

/// `skms group …` (as an account admin).
#[derive(clap::Subcommand)]
pub enum GroupCommand {
    /// Create a group (a container of security objects) in your account.
    Create {
        /// Name, unique in the account.
        name: String,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List the groups of your account.
    List,
}

/// `skms app …` (as an account admin). APP is an app's name or UUID.
#[derive(clap::Subcommand)]
pub enum AppCommand {
    /// Create an app (a KMIP client such as vCenter) and print its credentials.
    Create {
        /// Name, unique in the account.
        #[arg(long)]
        name: String,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
        /// Interface it may use: kmip, rest; repeatable [default: kmip]
        #[arg(long = "interface", value_name = "IFACE")]
        interfaces: Vec<String>,
        /// api-key (username and password) or certificate [default: api-key]
        #[arg(long, value_name = "METHOD")]
        auth_method: Option<String>,
        /// Group (name or id) it may use; repeatable [default: the account's default group]
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
        /// Where its new objects go [default: the first --group]
        #[arg(long, value_name = "GROUP")]
        default_group: Option<String>,
    },
    /// List the apps of your account.
    List,
    /// Show an app.
    Show {
        /// The app's name or UUID.
        app: String,
    },
    /// Change an app: description, interfaces, groups, default group, enabled.
    Update {
        /// The app's name or UUID.
        app: String,
        /// Free text.
        #[arg(long)]
        description: Option<String>,
        /// Interface it may use: kmip, rest; repeatable (replaces the current ones)
        #[arg(long = "interface", value_name = "IFACE")]
        interfaces: Vec<String>,
        /// Group (name or id) it may use; repeatable (replaces the current ones)
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
        /// Where its new objects go
        #[arg(long, value_name = "GROUP")]
        default_group: Option<String>,
        /// Let it authenticate again
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Stop it authenticating (its objects stay)
        #[arg(long)]
        disable: bool,
    },
    /// Show an app's credentials: username (its UUID) and password (its secret).
    Credentials {
        /// The app's name or UUID.
        app: String,
    },
    /// Give an app a new secret (the old one stops working at once).
    ResetSecret {
        /// The app's name or UUID.
        app: String,
    },
    /// Set how an app authenticates: api-key or certificate.
    SetAuthMethod {
        /// The app's name or UUID.
        app: String,
        /// api-key or certificate.
        method: String,
    },
    /// Pin a client certificate (PEM; self-signed allowed, any CN) to an app,
    /// which then authenticates by certificate.
    PinCert {
        /// The app's name or UUID.
        app: String,
        /// The certificate, PEM (every CERTIFICATE block in the file is pinned).
        #[arg(long, value_name = "FILE")]
        pem: PathBuf,
    },
    /// Trust a CA (PEM) for an app: certificates it issues whose CN is the app's
    /// UUID authenticate as the app, which then authenticates by certificate.
    TrustCa {
        /// The app's name or UUID.
        app: String,
        /// The CA certificate, PEM.
        #[arg(long, value_name = "FILE")]
        pem: PathBuf,
    },
}

pub(crate) fn finish(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs an account command.
pub fn account(cmd: AccountCommand, conn: Conn) -> ExitCode {
    finish((|| {
        let api = Api::new(&conn)?;
        match cmd {
            AccountCommand::Create { name, admin } => {
                let v = api.post("/v1/accounts", json!({ "name": name, "admin": admin }))?;
                api.show(&v, |v| {
                    fields(&[
                        ("account", s(&v["account"]["name"]).into()),
                        ("account id", s(&v["account"]["id"]).into()),
                        ("default group", s(&v["default_group"]["name"]).into()),
                        ("default group id", s(&v["default_group"]["id"]).into()),
                        ("account admin login", s(&v["admin"]["username"]).into()),
                        (
                            "account admin password (shown once)",
                            s(&v["admin"]["password"]).into(),
                        ),
                    ])
                });
            }
            AccountCommand::Usage { account } => {
                let v = api.get(&format!(
                    "/v1/accounts/{}/usage",
                    account_id(&api, &account)?
                ))?;
                api.show(&v, |v| {
                    let states = v["objects_by_state"].as_object();
                    let states = states
                        .into_iter()
                        .flatten()
                        .map(|(k, n)| format!("{k} {n}"));
                    fields(&[
                        ("apps", v["apps"].to_string()),
                        ("users", v["users"].to_string()),
                        ("groups", v["groups"].to_string()),
                        ("objects by state", states.collect::<Vec<_>>().join(", ")),
                    ])
                });
            }
            AccountCommand::Disable { account } => set_enabled(&api, &account, false)?,
            AccountCommand::Enable { account } => set_enabled(&api, &account, true)?,
            AccountCommand::Delete { account } => {
                let path = format!("/v1/accounts/{}", account_id(&api, &account)?);
                let v = api.send(api.request(Method::DELETE, &path))?;
                api.show(&v, |_| format!("account {account} deleted"));
            }
            AccountCommand::List => {
                let v = api.get("/v1/accounts")?;
                api.show(&v, |v| {
                    table(
                        v,
                        &[
                            ("ID", |a| s(&a["id"]).into()),
                            ("NAME", |a| s(&a["name"]).into()),
                            ("ENABLED", |a| a["enabled"].to_string()),
                            ("CREATED", |a| {
                                a["created"].as_i64().map(utc).unwrap_or_default()
                            }),
                        ],
                    )
                });
            }
        }
        Ok(())
    })())
}

/// Enables or disables an account.
fn set_enabled(api: &Api, account: &str, enabled: bool) -> Result<(), String> {
    let path = format!("/v1/accounts/{}", account_id(api, account)?);
    let v = api.send(
        api.request(Method::PATCH, &path)
            .json(&json!({ "enabled": enabled })),
    )?;
    api.show(&v, |_| {
        format!(
            "account {account} {}",
            if enabled { "enabled" } else { "disabled" }
        )
    });
    Ok(())
}

fn group_text(g: &Value) -> String {
    fields(&[
        ("group", s(&g["name"]).into()),
        ("id", s(&g["id"]).into()),
        ("description", s(&g["description"]).into()),
    ])
}

/// Runs a group command.
pub fn group(cmd: GroupCommand, conn: Conn) -> ExitCode {
    finish((|| {
        let api = Api::new(&conn)?;
        match cmd {
            GroupCommand::Create { name, description } => {
                let v = api.post(
                    "/v1/groups",
                    json!({ "name": name, "description": description }),
                )?;
                api.show(&v, group_text);
            }
            GroupCommand::List => {
                let v = api.get("/v1/groups")?;
                api.show(&v, |v| {
                    table(
                        v,
                        &[
                            ("ID", |g| s(&g["id"]).into()),
                            ("NAME", |g| s(&g["name"]).into()),
                            ("DESCRIPTION", |g| s(&g["description"]).into()),
                        ],
                    )
                });
            }
        }
        Ok(())
    })())
}

/// Runs an app command.
pub fn app(cmd: AppCommand, conn: Conn) -> ExitCode {
    finish((|| {
        let api = Api::new(&conn)?;
        match cmd {
            AppCommand::Create {
                name,
                description,
                interfaces,
                auth_method,
                groups,
                default_group,
            } => {
                let mut body =
                    json!({ "name": name, "description": description, "groups": groups });
                if !interfaces.is_empty() {
                    body["interfaces"] = json!(interfaces);
                }
                if let Some(m) = auth_method {
                    body["auth_method"] = json!(m);
                }
                if let Some(g) = default_group {
                    body["default_group"] = json!(g);
                }
                let v = api.post("/v1/apps", body)?;
                api.show(&v, |v| {
                    app_text(&v["app"]) + &credentials_text(&v["credentials"])
                });
            }
            AppCommand::List => {
                let v = api.get("/v1/apps")?;
                api.show(&v, |v| {
                    table(
                        v,
                        &[
                            ("ID", |a| s(&a["id"]).into()),
                            ("NAME", |a| s(&a["name"]).into()),
                            ("INTERFACES", |a| list(&a["interfaces"])),
                            ("AUTHENTICATION", |a| s(&a["auth_method"]).into()),
                            ("ENABLED", |a| a["enabled"].to_string()),
                            ("DESCRIPTION", |a| s(&a["description"]).into()),
                        ],
                    )
                });
            }
            AppCommand::Show { app } => {
                let v = api.get(&format!("/v1/apps/{}", api.app_id(&app)?))?;
                api.show(&v, app_text);
            }
            AppCommand::Update {
                app,
                description,
                interfaces,
                groups,
                default_group,
                enable,
                disable,
            } => {
                let mut body = json!({});
                if let Some(d) = description {
                    body["description"] = json!(d);
                }
                if !interfaces.is_empty() {
                    body["interfaces"] = json!(interfaces);
                }
                if !groups.is_empty() {
                    body["groups"] = json!(groups);
                }
                if let Some(g) = default_group {
                    body["default_group"] = json!(g);
                }
                if enable || disable {
                    body["enabled"] = json!(enable);
                }
                let path = format!("/v1/apps/{}", api.app_id(&app)?);
                let v = api.send(api.request(Method::PATCH, &path).json(&body))?;
                api.show(&v, app_text);
            }
            AppCommand::Credentials { app } => {
                let v = api.get(&format!("/v1/apps/{}/credentials", api.app_id(&app)?))?;
                api.show(&v, credentials_text);
            }
            AppCommand::ResetSecret { app } => {
                let v = api.post(&format!("/v1/apps/{}/secret", api.app_id(&app)?), json!({}))?;
                api.show(&v, credentials_text);
            }
            AppCommand::SetAuthMethod { app, method } => {
                let path = format!("/v1/apps/{}/auth-method", api.app_id(&app)?);
                let v = api.send(
                    api.request(Method::PUT, &path)
                        .json(&json!({ "auth_method": method })),
                )?;
                api.show(&v, app_text);
            }
            AppCommand::PinCert { app, pem } => {
                let path = format!("/v1/apps/{}/pinned-certificates", api.app_id(&app)?);
                let v = api.post_pem(&path, &pem)?;
                api.show(&v, |v| {
                    lines(&v["pinned"], |fp| {
                        format!(
                            "pinned certificate SHA-256 {} to app {}",
                            s(fp),
                            s(&v["app"]["name"])
                        )
                    })
                });
            }
            AppCommand::TrustCa { app, pem } => {
                let path = format!("/v1/apps/{}/trusted-cas", api.app_id(&app)?);
                let v = api.post_pem(&path, &pem)?;
                api.show(&v, |v| {
                    lines(&v["trusted"], |ca| {
                        format!("app {} now trusts CA {}", s(&v["app"]["name"]), s(ca))
                    })
                });
            }
        }
        Ok(())
    })())
}

/// `skms ca-cert`: the server's CA certificate, to give to vCenter.
#[derive(clap::Args)]
pub struct CaCertArgs {
    /// Base address of the REST API [env SKMS_SERVER; default https://localhost:8443]
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// The server's CA certificate to check the server against [env SKMS_CA_CERT]
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Download without checking the server (first contact); compare the printed
    /// SHA-256 fingerprint with the one `skms serve` printed before trusting it
    #[arg(long)]
    insecure_download: bool,
    /// Write the PEM here instead of standard output
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs `skms ca-cert`.
pub fn ca_cert(args: CaCertArgs) -> ExitCode {
    finish((|| {
        let base = args
            .server
            .clone()
            .or_else(|| env("SKMS_SERVER"))
            .unwrap_or_else(|| DEFAULT_SERVER.into());
        let base = base.trim_end_matches('/');
        let client = if args.insecure_download {
            Client::builder()
                .tls_danger_accept_invalid_certs(true)
                .build()
                .map_err(|e| e.to_string())?
        } else {
            let ca_path = args
                .ca_cert
                .clone()
                .or_else(|| env("SKMS_CA_CERT").map(PathBuf::from))
                .ok_or("give --ca-cert to check the server, or --insecure-download for a first contact")?;
            let pem = std::fs::read(&ca_path)
                .map_err(|e| format!("cannot read {}: {e}", ca_path.display()))?;
            Client::builder()
                .tls_certs_only([reqwest::Certificate::from_pem(&pem).map_err(|e| e.to_string())?])
                .build()
                .map_err(|e| e.to_string())?
        };
        let resp = client
            .get(format!("{base}/v1/ca-certificate"))
            .send()
            .map_err(|e| unreachable(base, args.ca_cert.as_deref(), &e))?;
        if !resp.status().is_success() {
            let status = resp.status();
            return Err(refusal(status, &resp.json().unwrap_or(Value::Null)));
        }
        let pem = resp.text().map_err(|e| e.to_string())?;
        let ders = skms_core::certs::from_pem(&pem)?;
        for der in &ders {
            eprintln!(
                "CA certificate SHA-256 fingerprint: {}",
                hex::encode(skms_core::certs::fingerprint(der))
            );
        }
        match &args.out {
            Some(p) => {
                std::fs::write(p, &pem).map_err(|e| format!("cannot write {}: {e}", p.display()))?
            }
            None => print!("{pem}"),
        }
        Ok(())
    })())
}

/// `skms sysadmin …`: recovery on the server's own machine.
#[derive(clap::Subcommand)]
pub enum SysadminCommand {
    /// Give a user (by default the first sysadmin) a new password, working on the
    /// data directory directly (for a lost login; needs access to the data directory).
    ResetPassword {
        /// Login name [default: sysadmin]
        #[arg(long, default_value = skms_core::tenancy::FIRST_SYSADMIN)]
        name: String,
        /// Data directory of the server [env SKMS_DATA_DIR; default ./skms-data]
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

/// Runs a sysadmin command.
pub fn sysadmin(cmd: SysadminCommand) -> ExitCode {
    finish((|| match cmd {
        SysadminCommand::ResetPassword { name, data_dir } => {
            let dir = data_dir
                .or_else(|| env("SKMS_DATA_DIR").map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from(skms_server::config::DEFAULT_DATA_DIR));
            if !dir.join(skms_server::init::DB_FILE).is_file() {
                return Err(format!("{} holds no server database", dir.display()));
            }
            let basics = skms_server::init::open_basics(&dir).map_err(|e| e.to_string())?;
            let (user, password) = skms_core::tenancy::reset_user_password(&*basics.store, &name)
                .map_err(|e| e.to_string())?;
            println!(
                "new password of {} (shown once): {}",
                user.name,
                password.expose()
            );
            Ok(())
        }
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_893_553_385), "2030-01-02 03:03:05 UTC");
        assert_eq!(utc(-86_400), "1969-12-31 00:00:00 UTC");
    }

    #[test]
    fn tables_align_their_columns_under_a_header() {
        let rows = json!([
            { "name": "default", "note": "" },
            { "name": "hôtes", "note": "ESXi\nhosts" },
        ]);
        let text = table(
            &rows,
            &[
                ("NAME", |r| s(&r["name"]).into()),
                ("NOTE", |r| s(&r["note"]).into()),
            ],
        );
        assert_eq!(
            text, "NAME     NOTE\ndefault  -\nhôtes    ESXi hosts\n",
            "{text}"
        );
        assert_eq!(table(&json!([]), &[("ID", |_| String::new())]), "ID\n");
        assert_eq!(
            fields(&[("id", "7".into()), ("description", String::new())]),
            "id: 7\ndescription:\n"
        );
    }
}
