//! Configuration: a TOML file, environment variables and command-line flags,
//! merged in that order (flags > environment > file > defaults).
//!
//! | setting | TOML key | environment | flag | default |
//! |---|---|---|---|---|
//! | data directory | `data_dir` | `SKMS_DATA_DIR` | `--data-dir` | `./skms-data` |
//! | KMIP/TLS listen address | `kmip_addr` | `SKMS_KMIP_ADDR` | `--kmip-addr` | `0.0.0.0:5696` |
//! | HTTPS listen address (REST API) | `https_addr` | `SKMS_HTTPS_ADDR` | `--https-addr` | `0.0.0.0:8443` |
//! | extra server certificate names (SANs) | `server_names` | `SKMS_SERVER_NAMES` (comma-separated) | `--server-name` (repeatable) | none |
//! | largest KMIP message, bytes | `max_message_size` | `SKMS_MAX_MESSAGE_SIZE` | `--max-message-size` | `1048576` (1 MiB) |
//! | most concurrent KMIP connections | `max_connections` | `SKMS_MAX_CONNECTIONS` | `--max-connections` | `1024` |
//! | idle time between requests, seconds | `idle_timeout_secs` | `SKMS_IDLE_TIMEOUT_SECS` | `--idle-timeout-secs` | `60` |
//! | TLS handshake time limit, seconds | `handshake_timeout_secs` | `SKMS_HANDSHAKE_TIMEOUT_SECS` | `--handshake-timeout-secs` | `10` |
//! | require the clientAuth EKU on client certificates | `require_client_auth_eku` | `SKMS_REQUIRE_CLIENT_AUTH_EKU` | `--require-client-auth-eku` | `false` |
//! | forward audit records to syslog (RFC 5424) | `audit_syslog` | `SKMS_AUDIT_SYSLOG` | `--audit-syslog` | none; `udp://HOST:PORT` or `tcp://HOST:PORT` |
//! | also accept the KMIP profile suites TLS_RSA_WITH_AES_128/256_CBC_SHA256 (OpenSSL listener, RSA server certificate) | `kmip_legacy_cipher_suites` | `SKMS_KMIP_LEGACY_CIPHER_SUITES` | `--kmip-legacy-cipher-suites` | `false` |
//! | most objects a node keeps in memory (0: none; README, "Running several nodes") | `cache_objects` | `SKMS_CACHE_OBJECTS` | `--cache-objects` | `100000` |
//! | the store: PostgreSQL shared by several nodes | `storage_url` | `SKMS_STORAGE_URL` | `--storage-url` | none: SQLite in the data directory; `postgres://user:password@host:port/db?sslmode=require` (README, "PostgreSQL") |
//!
//! The file is `--config PATH` (or `SKMS_CONFIG`); without one, `<data dir>/skms.toml`
//! is read if it exists. An unknown key or a bad value is an error that names it.

use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why the configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("configuration file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong (an unknown key, a bad value, a syntax error…).
        reason: String,
    },
    /// An environment variable holds a bad value.
    #[error("environment variable {name}: {reason}")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A setting is out of range, whatever its source.
    #[error("setting {name}: {reason}")]
    Invalid {
        /// The setting (its TOML key).
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// The server's settings, merged and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Where the database, the root key and the certificates live.
    pub data_dir: PathBuf,
    /// Where KMIP over TLS listens.
    pub kmip_addr: SocketAddr,
    /// Where the REST API listens (HTTPS).
    pub https_addr: SocketAddr,
    /// Names and addresses added to the server certificate's SANs.
    pub server_names: Vec<String>,
    /// Largest KMIP message accepted, in bytes (header included).
    pub max_message_size: usize,
    /// Most KMIP connections served at once; more wait in the accept queue.
    pub max_connections: usize,
    /// How long a connection may stay silent between requests.
    pub idle_timeout: Duration,
    /// How long a TLS handshake may take.
    pub handshake_timeout: Duration,
    /// Whether client certificates must carry the clientAuth extended key usage.
    pub require_client_auth_eku: bool,
    /// Whether the KMIP listener also offers the KMIP profile suites
    /// TLS_RSA_WITH_AES_128/256_CBC_SHA256 that older clients (vCenter 7) need.
    pub kmip_legacy_cipher_suites: bool,
    /// Where audit records are forwarded as syslog messages, if anywhere.
    pub audit_syslog: Option<String>,
    /// The PostgreSQL database the store lives in (`postgres://…`, it may
    /// hold a password); `None`: SQLite in the data directory.
    pub storage_url: Option<String>,
    /// The most objects the node's cache keeps ([`crate::cache`]); 0: none.
    pub cache_objects: usize,
}

/// The documented default data directory.
pub const DEFAULT_DATA_DIR: &str = "./skms-data";
/// The documented default KMIP address.
pub const DEFAULT_KMIP_ADDR: &str = "0.0.0.0:5696";
/// The documented default HTTPS address.
pub const DEFAULT_HTTPS_ADDR: &str = "0.0.0.0:8443";
/// The name of the configuration file looked for in the data directory.
pub const CONFIG_FILE_NAME: &str = "skms.toml";

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            kmip_addr: DEFAULT_KMIP_ADDR.parse().expect("valid default"),
            https_addr: DEFAULT_HTTPS_ADDR.parse().expect("valid default"),
            server_names: Vec::new(),
            max_message_size: 1024 * 1024,
            max_connections: 1024,
            idle_timeout: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(10),
            require_client_auth_eku: false,
            kmip_legacy_cipher_suites: false,
            audit_syslog: None,
            storage_url: None,
            cache_objects: crate::cache::DEFAULT_MAX_OBJECTS,
        }
    }
}

/// The settings of one source (the file, the environment or the flags): absent means "not said here".
#[derive(Clone, Debug, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// Data directory: database, root key, certificates [env SKMS_DATA_DIR; default ./skms-data]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// KMIP over TLS listen address [env SKMS_KMIP_ADDR; default 0.0.0.0:5696]
    #[arg(long, value_name = "ADDR")]
    pub kmip_addr: Option<SocketAddr>,
    /// HTTPS listen address of the REST API [env SKMS_HTTPS_ADDR; default 0.0.0.0:8443]
    #[arg(long, value_name = "ADDR")]
    pub https_addr: Option<SocketAddr>,
    /// Extra DNS name or IP address in the server certificate; repeatable [env SKMS_SERVER_NAMES, comma-separated]
    #[arg(long = "server-name", value_name = "NAME")]
    pub server_names: Option<Vec<String>>,
    /// Largest KMIP message in bytes [env SKMS_MAX_MESSAGE_SIZE; default 1048576]
    #[arg(long, value_name = "BYTES")]
    pub max_message_size: Option<usize>,
    /// Most concurrent KMIP connections [env SKMS_MAX_CONNECTIONS; default 1024]
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Seconds a KMIP connection may stay idle between requests [env SKMS_IDLE_TIMEOUT_SECS; default 60]
    #[arg(long, value_name = "SECS")]
    pub idle_timeout_secs: Option<u64>,
    /// Seconds a TLS handshake may take [env SKMS_HANDSHAKE_TIMEOUT_SECS; default 10]
    #[arg(long, value_name = "SECS")]
    pub handshake_timeout_secs: Option<u64>,
    /// Require the clientAuth extended key usage on client certificates [env SKMS_REQUIRE_CLIENT_AUTH_EKU; default false]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub require_client_auth_eku: Option<bool>,
    /// Also offer TLS_RSA_WITH_AES_128/256_CBC_SHA256 on KMIP, for older clients such as vCenter 7 (served by OpenSSL) [env SKMS_KMIP_LEGACY_CIPHER_SUITES; default false]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub kmip_legacy_cipher_suites: Option<bool>,
    /// Forward audit records to syslog (RFC 5424): udp://HOST:PORT or tcp://HOST:PORT [env SKMS_AUDIT_SYSLOG; default none]
    #[arg(long, value_name = "URL")]
    pub audit_syslog: Option<String>,
    /// Keep the store in PostgreSQL: postgres://user:password@host:port/db[?sslmode=require] [env SKMS_STORAGE_URL; default none: SQLite in the data directory]
    #[arg(long, value_name = "URL")]
    pub storage_url: Option<String>,
    /// Most security objects this node keeps in memory, 0 for none (accounts and apps are always kept) [env SKMS_CACHE_OBJECTS; default 100000]
    #[arg(long, value_name = "N")]
    pub cache_objects: Option<usize>,
}

impl Overrides {
    /// Lays `other` over `self`: what `other` says wins.
    fn overlay(&mut self, other: Overrides) {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(
            data_dir,
            kmip_addr,
            https_addr,
            server_names,
            max_message_size,
            max_connections,
            idle_timeout_secs,
            handshake_timeout_secs,
            require_client_auth_eku,
            kmip_legacy_cipher_suites,
            audit_syslog,
            storage_url,
            cache_objects
        );
    }

    /// The settings the environment gives (`SKMS_*`), from `env`.
    pub fn from_env(env: &HashMap<String, String>) -> Result<Overrides, ConfigError> {
        fn get<T: std::str::FromStr>(
            env: &HashMap<String, String>,
            name: &'static str,
        ) -> Result<Option<T>, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            match env.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(v) => v.parse().map(Some).map_err(|e| ConfigError::Env {
                    name,
                    reason: format!("{v:?}: {e}"),
                }),
            }
        }
        Ok(Overrides {
            data_dir: get(env, "SKMS_DATA_DIR")?,
            kmip_addr: get(env, "SKMS_KMIP_ADDR")?,
            https_addr: get(env, "SKMS_HTTPS_ADDR")?,
            server_names: env.get("SKMS_SERVER_NAMES").map(|s| {
                s.split(',')
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty())
                    .collect()
            }),
            max_message_size: get(env, "SKMS_MAX_MESSAGE_SIZE")?,
            max_connections: get(env, "SKMS_MAX_CONNECTIONS")?,
            idle_timeout_secs: get(env, "SKMS_IDLE_TIMEOUT_SECS")?,
            handshake_timeout_secs: get(env, "SKMS_HANDSHAKE_TIMEOUT_SECS")?,
            require_client_auth_eku: get(env, "SKMS_REQUIRE_CLIENT_AUTH_EKU")?,
            kmip_legacy_cipher_suites: get(env, "SKMS_KMIP_LEGACY_CIPHER_SUITES")?,
            audit_syslog: get(env, "SKMS_AUDIT_SYSLOG")?,
            storage_url: get(env, "SKMS_STORAGE_URL")?,
            cache_objects: get(env, "SKMS_CACHE_OBJECTS")?,
        })
    }

    /// The settings of a TOML document (`path` only names it in errors).
    pub fn from_toml(text: &str, path: &Path) -> Result<Overrides, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            reason: e.to_string().trim_end().to_string(),
        })
    }
}

/// The flags of `skms serve` that choose the configuration.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ServeFlags {
    /// Configuration file (TOML) [env SKMS_CONFIG; default <data dir>/skms.toml when it exists]
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The settings.
    #[command(flatten)]
    pub settings: Overrides,
}

impl Config {
    /// Builds the configuration from `flags` and the process environment.
    pub fn load(flags: &ServeFlags) -> Result<Config, ConfigError> {
        Self::load_with_env(flags, &std::env::vars().collect())
    }

    /// Builds the configuration from `flags` and `env`: flags > env > file > defaults.
    pub fn load_with_env(
        flags: &ServeFlags,
        env: &HashMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let from_env = Overrides::from_env(env)?;
        // The file is named by a flag or the environment, else looked for in the
        // data directory that the flags or the environment (or the default) give.
        let named = flags.config.clone().or_else(|| {
            env.get("SKMS_CONFIG")
                .filter(|s| !s.trim().is_empty())
                .map(PathBuf::from)
        });
        let file = match named {
            Some(path) => Some(read_file(&path)?),
            None => {
                let dir = flags
                    .settings
                    .data_dir
                    .clone()
                    .or_else(|| from_env.data_dir.clone())
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
                let path = dir.join(CONFIG_FILE_NAME);
                if path.is_file() {
                    Some(read_file(&path)?)
                } else {
                    None
                }
            }
        };
        let mut merged = file.unwrap_or_default();
        merged.overlay(from_env);
        merged.overlay(flags.settings.clone());
        Config::from_overrides(merged)
    }

    /// Applies `o` to the defaults and checks the ranges.
    pub fn from_overrides(o: Overrides) -> Result<Config, ConfigError> {
        let d = Config::default();
        let c = Config {
            data_dir: o.data_dir.unwrap_or(d.data_dir),
            kmip_addr: o.kmip_addr.unwrap_or(d.kmip_addr),
            https_addr: o.https_addr.unwrap_or(d.https_addr),
            server_names: o.server_names.unwrap_or(d.server_names),
            max_message_size: o.max_message_size.unwrap_or(d.max_message_size),
            max_connections: o.max_connections.unwrap_or(d.max_connections),
            idle_timeout: o
                .idle_timeout_secs
                .map(Duration::from_secs)
                .unwrap_or(d.idle_timeout),
            handshake_timeout: o
                .handshake_timeout_secs
                .map(Duration::from_secs)
                .unwrap_or(d.handshake_timeout),
            require_client_auth_eku: o
                .require_client_auth_eku
                .unwrap_or(d.require_client_auth_eku),
            kmip_legacy_cipher_suites: o
                .kmip_legacy_cipher_suites
                .unwrap_or(d.kmip_legacy_cipher_suites),
            audit_syslog: o.audit_syslog.filter(|s| !s.trim().is_empty()),
            storage_url: o
                .storage_url
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            cache_objects: o.cache_objects.unwrap_or(d.cache_objects),
        };
        c.check()?;
        Ok(c)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let bad = |name, reason: &str| {
            Err(ConfigError::Invalid {
                name,
                reason: reason.into(),
            })
        };
        if self.data_dir.as_os_str().is_empty() {
            return bad("data_dir", "must not be empty");
        }
        // Below 1 KiB not even a Create with a template fits; above 64 MiB one
        // client could make the server hold a lot of memory per connection.
        if !(1024..=64 * 1024 * 1024).contains(&self.max_message_size) {
            return bad(
                "max_message_size",
                "must be between 1024 and 67108864 bytes",
            );
        }
        if !(1..=1_000_000).contains(&self.max_connections) {
            return bad("max_connections", "must be between 1 and 1000000");
        }
        if self.cache_objects > 10_000_000 {
            return bad("cache_objects", "must be between 0 and 10000000");
        }
        if self.idle_timeout.is_zero() || self.idle_timeout > Duration::from_secs(86_400) {
            return bad("idle_timeout_secs", "must be between 1 and 86400 seconds");
        }
        if self.handshake_timeout.is_zero() || self.handshake_timeout > Duration::from_secs(600) {
            return bad(
                "handshake_timeout_secs",
                "must be between 1 and 600 seconds",
            );
        }
        if let Some(url) = &self.storage_url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return bad(
                    "storage_url",
                    "must be a postgres://… URL (or empty, for SQLite in the data directory)",
                );
            }
        }
        if let Some(t) = &self.audit_syslog {
            if let Err(reason) = t.parse::<crate::syslog::Target>() {
                return Err(ConfigError::Invalid {
                    name: "audit_syslog",
                    reason,
                });
            }
        }
        for n in &self.server_names {
            let ok = n.parse::<std::net::IpAddr>().is_ok()
                || (!n.is_empty()
                    && n.len() <= 253
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '*')));
            if !ok {
                return Err(ConfigError::Invalid {
                    name: "server_names",
                    reason: format!("{n:?} is neither a DNS name nor an IP address"),
                });
            }
        }
        Ok(())
    }
}

fn read_file(path: &Path) -> Result<Overrides, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Overrides::from_toml(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn temp_dir(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("skms-config-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = Config::load_with_env(
            &ServeFlags {
                settings: Overrides {
                    data_dir: Some(temp_dir("defaults")),
                    ..Default::default()
                },
                ..Default::default()
            },
            &env(&[]),
        )
        .unwrap();
        assert_eq!(c.kmip_addr.to_string(), "0.0.0.0:5696");
        assert_eq!(c.https_addr.to_string(), "0.0.0.0:8443");
        assert_eq!(c.max_message_size, 1 << 20);
        assert_eq!(c.max_connections, 1024);
        assert_eq!(c.cache_objects, 100_000);
        assert_eq!(c.idle_timeout, Duration::from_secs(60));
        assert!(!c.require_client_auth_eku);
        assert!(c.server_names.is_empty());
        assert_eq!(Config::default().data_dir, PathBuf::from("./skms-data"));
    }

    #[test]
    fn flags_beat_env_beat_file_beat_defaults() {
        let dir = temp_dir("precedence");
        std::fs::write(
            dir.join("skms.toml"),
            "kmip_addr = \"127.0.0.1:1000\"\nmax_connections = 7\nidle_timeout_secs = 5\nserver_names = [\"kms.example.com\"]\n",
        )
        .unwrap();
        let flags = ServeFlags {
            config: None,
            settings: Overrides {
                data_dir: Some(dir.clone()),
                kmip_addr: Some("127.0.0.1:3000".parse().unwrap()),
                ..Default::default()
            },
        };
        let c = Config::load_with_env(
            &flags,
            &env(&[
                ("SKMS_KMIP_ADDR", "127.0.0.1:2000"),
                ("SKMS_MAX_CONNECTIONS", "9"),
                ("SKMS_REQUIRE_CLIENT_AUTH_EKU", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(c.kmip_addr.to_string(), "127.0.0.1:3000", "flag wins");
        assert_eq!(c.max_connections, 9, "env beats file");
        assert_eq!(c.idle_timeout, Duration::from_secs(5), "file beats default");
        assert_eq!(c.server_names, vec!["kms.example.com".to_string()]);
        assert!(c.require_client_auth_eku);
        assert_eq!(c.max_message_size, 1 << 20, "default");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let dir = temp_dir("errors");
        let path = dir.join("other.toml");
        std::fs::write(&path, "kmip_adr = \"127.0.0.1:1\"\n").unwrap();
        let flags = ServeFlags {
            config: Some(path.clone()),
            ..Default::default()
        };
        let e = Config::load_with_env(&flags, &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("kmip_adr") && e.contains("unknown field"), "{e}");

        std::fs::write(&path, "max_connections = \"many\"\n").unwrap();
        let e = Config::load_with_env(&flags, &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_connections"), "{e}");

        std::fs::write(&path, "max_message_size = 10\n").unwrap();
        let e = Config::load_with_env(&flags, &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_message_size"), "{e}");

        let e = Config::load_with_env(
            &ServeFlags::default(),
            &env(&[
                ("SKMS_CONFIG", path.to_str().unwrap()),
                ("SKMS_KMIP_ADDR", "nowhere"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("SKMS_KMIP_ADDR"), "{e}");

        let missing = ServeFlags {
            config: Some(dir.join("missing.toml")),
            ..Default::default()
        };
        let e = Config::load_with_env(&missing, &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.toml"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_storage_url_chooses_postgresql() {
        let dir = temp_dir("storage");
        let flags = |url: Option<&str>| ServeFlags {
            settings: Overrides {
                data_dir: Some(dir.clone()),
                storage_url: url.map(String::from),
                ..Default::default()
            },
            ..Default::default()
        };
        let c = Config::load_with_env(&flags(None), &env(&[])).unwrap();
        assert_eq!(c.storage_url, None, "SQLite by default");
        let c = Config::load_with_env(&flags(None), &env(&[("SKMS_STORAGE_URL", "  ")])).unwrap();
        assert_eq!(c.storage_url, None, "empty is SQLite");
        let url = "postgres://skms@db.example:5432/skms?sslmode=require";
        let c = Config::load_with_env(&flags(None), &env(&[("SKMS_STORAGE_URL", url)])).unwrap();
        assert_eq!(c.storage_url.as_deref(), Some(url));
        let flag = "postgresql://skms@127.0.0.1/other";
        let c =
            Config::load_with_env(&flags(Some(flag)), &env(&[("SKMS_STORAGE_URL", url)])).unwrap();
        assert_eq!(c.storage_url.as_deref(), Some(flag), "the flag wins");
        std::fs::write(dir.join("skms.toml"), format!("storage_url = \"{url}\"\n")).unwrap();
        let c = Config::load_with_env(&flags(None), &env(&[])).unwrap();
        assert_eq!(c.storage_url.as_deref(), Some(url), "from the file");
        let e = Config::load_with_env(&flags(Some("mysql://x@y/z")), &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("storage_url"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
