//! `skms app issue-cert|sign-csr`, `skms cert list`, `skms account-ca`: an
//! app's client certificates from the account CA, the account's certificates
//! with their expiry, and the account CA itself, through the REST API as an
//! account's admin (see [`crate::admin`] for the connection settings).
//!
//! A private key the server makes arrives once: it is written to a file only
//! its owner may read (0600), never printed, and the buffers holding it here
//! are wiped when dropped.

use crate::admin::{self, fields, finish, first_line, s, table, utc, Api, Conn, Output};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zeroize::Zeroizing;

/// `skms app …` with the certificate commands of this module beside those of
/// [`admin::AppCommand`].
#[derive(clap::Subcommand)]
pub enum AppCommands {
    /// The app commands of `admin`.
    #[command(flatten)]
    Admin(admin::AppCommand),
    /// The certificate commands.
    #[command(flatten)]
    Certs(AppCertCommand),
}

/// `skms app issue-cert|sign-csr` (as an account admin). APP is an app's name or UUID.
#[derive(clap::Subcommand)]
pub enum AppCertCommand {
    /// Issue an app a client certificate (CN = its UUID) and a new private key
    /// from the account CA ("KMS certificate and private key" in vCenter); the
    /// app then authenticates by certificate. Writes PEM files, or a PKCS#12 file.
    IssueCert {
        /// The app's name or UUID.
        app: String,
        /// Days the certificate is valid (1 to 3650)
        #[arg(long, value_name = "N", default_value_t = 365)]
        days: u32,
        /// Write a PKCS#12 file (certificate, key and account CA) here, 0600
        #[arg(
            long,
            value_name = "FILE",
            requires = "pkcs12_password_file",
            conflicts_with_all = ["out_cert", "out_key"]
        )]
        pkcs12: Option<PathBuf>,
        /// File whose first line is the PKCS#12 password (at least 8 characters)
        #[arg(long, value_name = "FILE", requires = "pkcs12")]
        pkcs12_password_file: Option<PathBuf>,
        /// Write the certificate (PEM) here
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "pkcs12",
            requires = "out_key"
        )]
        out_cert: Option<PathBuf>,
        /// Write the private key (unencrypted PKCS#8 PEM) here, 0600
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "pkcs12",
            requires = "out_cert"
        )]
        out_key: Option<PathBuf>,
        /// Also write the account CA certificate (PEM) here
        #[arg(long, value_name = "FILE", conflicts_with = "pkcs12")]
        out_ca: Option<PathBuf>,
    },
    /// Sign an app's certificate signing request with the account CA ("New
    /// Certificate Signing Request" in vCenter); the certificate is pinned to
    /// the app, which then authenticates by certificate.
    SignCsr {
        /// The app's name or UUID.
        app: String,
        /// The CSR, PEM (`BEGIN CERTIFICATE REQUEST`)
        #[arg(long, value_name = "FILE")]
        csr: PathBuf,
        /// Days the certificate is valid (1 to 3650)
        #[arg(long, value_name = "N", default_value_t = 365)]
        days: u32,
        /// Write the signed certificate (PEM) here [default: standard output]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Also write the account CA certificate (PEM) here
        #[arg(long, value_name = "FILE")]
        out_ca: Option<PathBuf>,
    },
}

/// `skms cert …` (as an account admin).
#[derive(clap::Subcommand)]
pub enum CertCommand {
    /// List every certificate of your account (the account CA, apps' pinned,
    /// trusted and issued certificates), soonest to expire first.
    List,
}

/// `skms account-ca`: your account's CA certificate.
#[derive(clap::Args)]
pub struct AccountCaArgs {
    /// Write the PEM here instead of standard output
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Writes `data` to `path`, readable by its owner only (0600), even if the
/// file existed with a wider mode.
fn write_private(path: &Path, data: &[u8]) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path).map_err(fail)?;
        // The mode above holds for a new file only: narrow an existing one
        // before anything secret goes in.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(fail)?;
        write_all(file, data).map_err(fail)
    }
    #[cfg(not(unix))]
    {
        write_all(options.open(path).map_err(fail)?, data).map_err(fail)
    }
}

fn write_all(mut file: std::fs::File, data: &[u8]) -> std::io::Result<()> {
    file.write_all(data)?;
    file.sync_all()
}

/// Writes public `text` (a certificate) to `path`.
fn write_public(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The body of the answer to `req` (wiped when dropped), or why there is none.
fn body_of(
    api: &Api,
    req: reqwest::blocking::RequestBuilder,
) -> Result<Zeroizing<Vec<u8>>, String> {
    let bytes = api
        .execute(req)?
        .bytes()
        .map_err(|e| format!("cannot read the server's answer: {e}"))?;
    Ok(Zeroizing::new(bytes.to_vec()))
}

/// What `days_left` means for a person.
fn expiry(c: &Value) -> String {
    match c["days_left"].as_i64() {
        None => "expiry unknown".into(),
        Some(d) if d < 0 => format!("EXPIRED {} days ago", -d),
        Some(d) if c["expires_soon"].as_bool() == Some(true) => {
            format!("{d} days left (expires soon)")
        }
        Some(d) => format!("{d} days left"),
    }
}

/// When a certificate of the server's answer `c` ends.
fn not_after(c: &Value) -> String {
    c["not_after"].as_i64().map(utc).unwrap_or_default()
}

/// The columns of `skms cert list`.
const CERT_COLUMNS: &[admin::Column] = &[
    ("EXPIRY", expiry),
    ("NOT AFTER", not_after),
    ("ROLE", |c| match c["origin"].as_str() {
        Some(o) => format!("{} ({o})", s(&c["role"])),
        None => s(&c["role"]).into(),
    }),
    ("HOLDER", |c| match c["app"].as_str() {
        Some(id) => format!("app {}", c["app_name"].as_str().unwrap_or(id)),
        None => "account".into(),
    }),
    ("SUBJECT", |c| s(&c["subject"]).into()),
    ("ISSUER", |c| s(&c["issuer"]).into()),
    ("SHA-256", |c| s(&c["sha256"]).into()),
];

/// Runs `skms app issue-cert|sign-csr`.
pub fn app(cmd: AppCertCommand, conn: Conn) -> ExitCode {
    finish((|| {
        let api = Api::new(&conn)?;
        match cmd {
            AppCertCommand::IssueCert {
                app,
                days,
                pkcs12,
                pkcs12_password_file,
                out_cert,
                out_key,
                out_ca,
            } => {
                let path = format!("/v1/apps/{}/certificates", api.app_id(&app)?);
                if let (Some(p12), Some(pw)) = (pkcs12, pkcs12_password_file) {
                    let password = first_line(&pw)?;
                    // Written by hand so that every copy of the password here is wiped.
                    let quoted = Zeroizing::new(
                        serde_json::to_string(password.as_str()).map_err(|e| e.to_string())?,
                    );
                    let body = Zeroizing::new(format!(
                        r#"{{"validity_days":{days},"format":"pkcs12","password":{}}}"#,
                        quoted.as_str()
                    ));
                    let req = api
                        .request(Method::POST, &path)
                        .header("content-type", "application/json")
                        .body(body.as_bytes().to_vec());
                    let file = body_of(&api, req)?;
                    write_private(&p12, &file)?;
                    let summary = json!({ "pkcs12": p12.display().to_string() });
                    api.show(&summary, |_| {
                        format!(
                            "issued a client certificate for app {app}, valid {days} days: PKCS#12 file {} (0600)\n",
                            p12.display()
                        )
                    });
                    return Ok(());
                }
                let (Some(out_cert), Some(out_key)) = (out_cert, out_key) else {
                    return Err(
                        "give --out-cert and --out-key, or --pkcs12 and --pkcs12-password-file"
                            .into(),
                    );
                };
                let req = api
                    .request(Method::POST, &path)
                    .json(&json!({ "validity_days": days, "format": "pem" }));
                let raw = body_of(&api, req)?;
                let mut answer: Value = serde_json::from_slice(&raw)
                    .map_err(|e| format!("the server's answer is not JSON: {e}"))?;
                let key = Zeroizing::new(match answer["private_key_pem"].take() {
                    Value::String(k) => k,
                    _ => return Err("the server's answer has no private key".into()),
                });
                write_private(&out_key, key.as_bytes())?;
                write_public(&out_cert, s(&answer["certificate_pem"]))?;
                if let Some(ca) = &out_ca {
                    write_public(ca, s(&answer["ca_chain_pem"]))?;
                }
                // Shown without the key (it is in its file only).
                if let Some(fields) = answer.as_object_mut() {
                    fields.remove("private_key_pem");
                    fields.insert(
                        "certificate_file".into(),
                        json!(out_cert.display().to_string()),
                    );
                    fields.insert(
                        "private_key_file".into(),
                        json!(out_key.display().to_string()),
                    );
                }
                api.show(&answer, |a| {
                    format!("issued a client certificate for app {app}\n")
                        + &fields(&[
                            ("certificate", out_cert.display().to_string()),
                            ("private key", format!("{} (0600)", out_key.display())),
                            ("SHA-256", s(&a["sha256"]).into()),
                            ("valid until", not_after(a)),
                        ])
                });
            }
            AppCertCommand::SignCsr {
                app,
                csr,
                days,
                out,
                out_ca,
            } => {
                let csr_pem = std::fs::read_to_string(&csr)
                    .map_err(|e| format!("cannot read {}: {e}", csr.display()))?;
                let path = format!("/v1/apps/{}/csr", api.app_id(&app)?);
                let v = api.send(
                    api.request(Method::POST, &path)
                        .json(&json!({ "csr_pem": csr_pem, "validity_days": days })),
                )?;
                if let Some(ca) = &out_ca {
                    write_public(ca, s(&v["ca_chain_pem"]))?;
                }
                match &out {
                    Some(p) => {
                        write_public(p, s(&v["certificate_pem"]))?;
                        api.show(&v, |v| {
                            format!("signed the CSR for app {app}, pinned to it\n")
                                + &fields(&[
                                    ("certificate", p.display().to_string()),
                                    ("SHA-256", s(&v["sha256"]).into()),
                                    ("valid until", not_after(v)),
                                ])
                        });
                    }
                    None if api.output == Output::Json => api.show(&v, |_| String::new()),
                    None => {
                        print!("{}", s(&v["certificate_pem"]));
                        eprintln!(
                            "signed the CSR for app {app}, pinned to it: SHA-256 {}, valid until {}",
                            s(&v["sha256"]),
                            not_after(&v),
                        );
                    }
                }
            }
        }
        Ok(())
    })())
}

/// Runs `skms cert …`.
pub fn cert(cmd: CertCommand, conn: Conn) -> ExitCode {
    finish((|| {
        let api = Api::new(&conn)?;
        match cmd {
            CertCommand::List => {
                let v = api.get("/v1/certificates")?;
                api.show(&v, |v| table(v, CERT_COLUMNS));
            }
        }
        Ok(())
    })())
}

/// Runs `skms account-ca`.
pub fn account_ca(args: AccountCaArgs, conn: Conn) -> ExitCode {
    finish((|| {
        let api = Api::new(&conn)?;
        let pem = body_of(&api, api.request(Method::GET, "/v1/account-ca"))?;
        let pem = String::from_utf8(pem.to_vec())
            .map_err(|_| "the server's answer is not PEM text".to_string())?;
        for der in skms_core::certs::from_pem(&pem)? {
            eprintln!(
                "account CA certificate SHA-256 fingerprint: {}",
                hex::encode(skms_core::certs::fingerprint(&der))
            );
        }
        match &args.out {
            Some(p) => write_public(p, &pem)?,
            None => print!("{pem}"),
        }
        Ok(())
    })())
}
