//! Where a `postgres://` URL points and how the connection is protected.
//!
//! - `sslmode=require` (or `verify-ca`, `verify-full`): TLS through rustls,
//!   the server's certificate always verified (chain and host name) against
//!   the CAs of `sslrootcert=<PEM file>` when given, else the system's.
//! - `sslmode=disable`: plain TCP (a private network the operator trusts).
//! - no `sslmode`: plain to a loopback address or a Unix socket, `require`
//!   to any other host.
//! - `sslmode=prefer`/`allow` are refused: they fall back to plain text
//!   without saying so.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use postgres::config::{Host, SslMode};
use postgres::{Client, Config, NoTls};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use skms_core::store::StoreError;
use tokio_postgres_rustls::MakeRustlsConnect;

/// A parsed storage URL: the driver's configuration and the TLS to use.
#[derive(Clone)]
pub struct Target {
    config: Config,
    tls: Option<MakeRustlsConnect>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("Target")
            .field("hosts", &self.config.get_hosts())
            .field("ports", &self.config.get_ports())
            .field("dbname", &self.config.get_dbname())
            .field("user", &self.config.get_user())
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

fn bad(msg: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("storage URL: {msg}"))
}

/// Decodes `%XX` escapes of a URL query value.
fn percent_decode(s: &str) -> Result<String, StoreError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad("a bad %-escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad("a %-escape that is not UTF-8"))
}

impl Target {
    /// Parses a `postgres://user:password@host:port/dbname?options` URL.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(bad("it must start with postgres:// or postgresql://"));
        }
        // sslmode and sslrootcert are ours to read (the driver knows fewer modes
        // and no root file); every other option goes to the driver.
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let (mut mode, mut root) = (None, None);
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "sslmode" => mode = Some(percent_decode(v)?),
                "sslrootcert" => root = Some(percent_decode(v)?),
                _ => rest.push(pair),
            }
        }
        let driver_url = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        // The driver's errors name the option, never the password.
        let mut config: Config = driver_url.parse().map_err(bad)?;
        let loopback = !config.get_hosts().is_empty()
            && config.get_hosts().iter().all(|h| match h {
                Host::Unix(_) => true,
                Host::Tcp(name) => {
                    name == "localhost"
                        || name
                            .trim_matches(|c| c == '[' || c == ']')
                            .parse::<IpAddr>()
                            .is_ok_and(|ip| ip.is_loopback())
                }
            });
        let tls = match mode.as_deref() {
            Some("disable") => false,
            Some("require" | "verify-ca" | "verify-full") => true,
            Some(m @ ("prefer" | "allow")) => {
                return Err(bad(format!(
                    "sslmode={m} may fall back to plain text without saying so: \
                     use sslmode=require (or disable on a trusted network)"
                )))
            }
            Some(m) => return Err(bad(format!("unknown sslmode {m:?}"))),
            None => !loopback,
        };
        if root.is_some() && !tls {
            return Err(bad("sslrootcert is given but TLS is not used"));
        }
        config.ssl_mode(if tls {
            SslMode::Require
        } else {
            SslMode::Disable
        });
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("skms");
        }
        let tls = if tls {
            Some(MakeRustlsConnect::new(client_config(root.as_deref())?))
        } else {
            None
        };
        Ok(Target { config, tls })
    }

    /// True when connections use TLS.
    pub fn uses_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Opens one connection.
    pub fn connect(&self) -> Result<Client, postgres::Error> {
        match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(NoTls),
        }
    }
}

/// The rustls client configuration: the CAs of `root` (a PEM file) or the system's.
fn client_config(root: Option<&str>) -> Result<rustls::ClientConfig, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    match root {
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(format!("sslrootcert {path}: {e}")))?
            {
                let cert = cert.map_err(|e| bad(format!("sslrootcert {path}: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| bad(format!("sslrootcert {path}: {e}")))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
    }
    if roots.is_empty() {
        return Err(bad(
            "TLS to PostgreSQL needs trusted CAs: none in sslrootcert nor in the system's store",
        ));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(bad)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_follow_the_url() {
        let t = Target::parse("postgres://u:secret@127.0.0.1:5433/db").unwrap();
        assert!(!t.uses_tls(), "loopback defaults to plain");
        assert!(!format!("{t:?}").contains("secret"));
        let t = Target::parse("postgresql://u@localhost/db?connect_timeout=3").unwrap();
        assert!(!t.uses_tls());
        assert_eq!(
            t.config.get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );
        let t = Target::parse("postgres://u@db.example/db?sslmode=disable").unwrap();
        assert!(!t.uses_tls());
        assert!(Target::parse("postgres://u@db.example/db?sslmode=prefer").is_err());
        assert!(Target::parse("postgres://u@db.example/db?sslmode=bogus").is_err());
        assert!(Target::parse("mysql://u@db.example/db").is_err());
        assert!(Target::parse(
            "postgres://u@127.0.0.1/db?sslmode=disable&sslrootcert=/nonexistent.pem"
        )
        .is_err());
        assert!(
            Target::parse("postgres://u@db.example/db?sslmode=require&sslrootcert=/nonexistent")
                .is_err(),
            "a missing root file is an error"
        );
    }
}
