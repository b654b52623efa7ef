//! `skms account|group|app|ca-cert`: administration through the server's REST
//! API, as the provider's sysadmin (accounts) or an account's admin (groups,
//! apps, credentials and certificates). `skms sysadmin reset-password` is the
//! one command that works on the data directory itself, for a lost login.

use reqwest::blocking::{Client, RequestBuilder};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;

/// How to reach and sign in to the REST API.
#[derive(clap::Args, Clone)]
pub struct Conn {
    /// Base address of the REST API [env SKMS_SERVER; default https://localhost:8443]
    #[arg(long, global = true, value_name = "URL")]
    server: Option<String>,
    /// The server's CA certificate (PEM) to trust [env SKMS_CA_CERT; default ./skms-data/ca.crt]
    #[arg(long, global = true, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Login name of a user (sysadmin or account admin) [env SKMS_USER]
    #[arg(long, global = true, value_name = "NAME")]
    user: Option<String>,
    /// File whose first line is the password [default: env SKMS_PASSWORD]
    #[arg(long, global = true, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Print the server's JSON answer instead of text
    #[arg(long, global = true)]
    json: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A REST client with its credentials.
pub(crate) struct Api {
    client: Client,
    pub(crate) base: String,
    user: Option<String>,
    password: Option<zeroize::Zeroizing<String>>,
    pub(crate) json: bool,
}

impl Api {
    pub(crate) fn new(conn: &Conn) -> Result<Self, String> {
        let base = conn
            .server
            .clone()
            .or_else(|| env("SKMS_SERVER"))
            .unwrap_or_else(|| "https://localhost:8443".into())
            .trim_end_matches('/')
            .to_string();
        if !base.starts_with("https://") {
            return Err(format!(
                "the server address {base:?} must start with https://"
            ));
        }
        let ca_path = conn
            .ca_cert
            .clone()
            .or_else(|| env("SKMS_CA_CERT").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("./skms-data/ca.crt"));
        let pem = std::fs::read(&ca_path).map_err(|e| {
            format!(
                "cannot read the server's CA certificate {}: {e} (give it with --ca-cert, \
                 or fetch it with `skms ca-cert --insecure-download`)",
                ca_path.display()
            )
        })?;
        let ca = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| format!("{}: not a PEM certificate: {e}", ca_path.display()))?;
        let client = Client::builder()
            .tls_certs_only([ca])
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot set up TLS: {e}"))?;
        let password = match &conn.password_file {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .map_err(|e| format!("cannot read {}: {e}", p.display()))?
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string(),
            ),
            None => env("SKMS_PASSWORD"),
        };
        Ok(Api {
            client,
            base,
            user: conn.user.clone().or_else(|| env("SKMS_USER")),
            password: password.map(zeroize::Zeroizing::new),
            json: conn.json,
        })
    }

    pub(crate) fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, String> {
        let (Some(user), Some(password)) = (&self.user, &self.password) else {
            return Err(
                "sign in with --user (or SKMS_USER) and SKMS_PASSWORD (or --password-file)".into(),
            );
        };
        Ok(self
            .client
            .request(method, format!("{}{path}", self.base))
            .basic_auth(user, Some(password.as_str())))
    }

    /// Sends `req` and returns the JSON answer, or the server's error message.
    pub(crate) fn send(&self, req: RequestBuilder) -> Result<Value, String> {
        let resp = req
            .send()
            .map_err(|e| format!("cannot reach the server at {}: {e}", self.base))?;
        let status = resp.status();
        let body: Value = resp.json().unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        Err(refusal(status, &body))
    }

    /// The password the commands sign in with, if given.
    pub(crate) fn password(&self) -> Option<&str> {
        self.password.as_deref().map(|p| p.as_str())
    }

    pub(crate) fn get(&self, path: &str) -> Result<Value, String> {
        self.send(self.request(Method::GET, path)?)
    }

    pub(crate) fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        self.send(self.request(Method::POST, path)?.json(&body))
    }

    fn post_pem(&self, path: &str, file: &PathBuf) -> Result<Value, String> {
        let pem = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        self.send(
            self.request(Method::POST, path)?
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

    /// Prints `value` as JSON, or as `text` when not asked for JSON.
    pub(crate) fn show(&self, value: &Value, text: impl FnOnce(&Value) -> String) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_default()
            );
        } else {
            println!("{}", text(value).trim_end());
        }
    }
}

/// The error line of a refusal: the server's message, then its code and the
/// request id (which the server's log has too), from the API's error body
/// `{"code", "message", "request_id"}`.
pub(crate) fn refusal(status: StatusCode, body: &Value) -> String {
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
    let detail = match detail.is_empty() {
        true => String::new(),
        false => format!(" [{}]", detail.join("; ")),
    };
    match status {
        StatusCode::UNAUTHORIZED => format!("not signed in: {message}{detail}"),
        _ => format!("the server refused ({status}): {message}{detail}"),
    }
}

pub(crate) fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

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
pub(crate) fn lines(v: &Value, line: impl Fn(&Value) -> String) -> String {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|x| line(x) + "\n")
        .collect()
}

fn app_text(a: &Value) -> String {
    format!(
        "app {}\n  id: {}\n  description: {}\n  interfaces: {}\n  authentication: {}\n  groups: {} (default {})\n  enabled: {}\n  pinned certificates (SHA-256): {}\n  trusted CAs: {}\n",
        s(&a["name"]),
        s(&a["id"]),
        s(&a["description"]),
        list(&a["interfaces"]),
        s(&a["auth_method"]),
        list(&a["groups"]),
        s(&a["default_group"]),
        a["enabled"],
        list(&a["pinned_certificates"]),
        list(&a["trusted_cas"]),
    )
}

fn credentials_text(c: &Value) -> String {
    format!(
        "app id (KMIP username): {}\nsecret (KMIP password): {}\n",
        s(&c["username"]),
        s(&c["password"])
    )
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
                    format!(
                        "account {} created: id {}\ndefault group {}: id {}\naccount admin login: {}\naccount admin password (shown once): {}\n",
                        s(&v["account"]["name"]),
                        s(&v["account"]["id"]),
                        s(&v["default_group"]["name"]),
                        s(&v["default_group"]["id"]),
                        s(&v["admin"]["username"]),
                        s(&v["admin"]["password"]),
                    )
                });
            }
            AccountCommand::Usage { account } => {
                let v = api.get(&format!(
                    "/v1/accounts/{}/usage",
                    account_id(&api, &account)?
                ))?;
                api.show(&v, |v| {
                    format!(
                        "apps: {}\nusers: {}\ngroups: {}\nobjects by state: {}",
                        v["apps"], v["users"], v["groups"], v["objects_by_state"]
                    )
                });
            }
            AccountCommand::Disable { account } => set_enabled(&api, &account, false)?,
            AccountCommand::Enable { account } => set_enabled(&api, &account, true)?,
            AccountCommand::Delete { account } => {
                let path = format!("/v1/accounts/{}", account_id(&api, &account)?);
                api.send(api.request(Method::DELETE, &path)?)?;
                println!("account {account} deleted");
            }
            AccountCommand::List => {
                let v = api.get("/v1/accounts")?;
                api.show(&v, |v| {
                    lines(v, |a| {
                        format!(
                            "{}  {}  enabled={}",
                            s(&a["id"]),
                            s(&a["name"]),
                            a["enabled"]
                        )
                    })
                });
            }
        }
        Ok(())
    })())
}

/// Enables or disables an account.
fn set_enabled(api: &Api, account: &str, enabled: bool) -> Result<(), String> {
    let path = format!("/v1/accounts/{}", account_id(api, account)?);
    api.send(
        api.request(Method::PATCH, &path)?
            .json(&json!({ "enabled": enabled })),
    )?;
    println!(
        "account {account} {}",
        if enabled { "enabled" } else { "disabled" }
    );
    Ok(())
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
                api.show(&v, |g| {
                    format!("group {} created: id {}\n", s(&g["name"]), s(&g["id"]))
                });
            }
            GroupCommand::List => {
                let v = api.get("/v1/groups")?;
                api.show(&v, |v| {
                    lines(v, |g| {
                        format!(
                            "{}  {}  {}",
                            s(&g["id"]),
                            s(&g["name"]),
                            s(&g["description"])
                        )
                    })
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
                    format!(
                        "{}{}",
                        app_text(&v["app"]),
                        credentials_text(&v["credentials"])
                    )
                });
            }
            AppCommand::List => {
                let v = api.get("/v1/apps")?;
                api.show(&v, |v| {
                    lines(v, |a| {
                        format!(
                            "{}  {}  {}  {}",
                            s(&a["id"]),
                            s(&a["name"]),
                            list(&a["interfaces"]),
                            s(&a["auth_method"])
                        )
                    })
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
                let v = api.send(api.request(Method::PATCH, &path)?.json(&body))?;
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
                    api.request(Method::PUT, &path)?
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
            .unwrap_or_else(|| "https://localhost:8443".into());
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
        let url = format!("{}/v1/ca-certificate", base.trim_end_matches('/'));
        let resp = client
            .get(&url)
            .send()
            .map_err(|e| format!("cannot reach {url}: {e}"))?;
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
