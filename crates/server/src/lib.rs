//! The network front of Sovereign KMS: configuration, first start (data
//! directory, root key, server CA and certificate), TLS with client
//! identities, the KMIP over TLS listener and the REST API over HTTPS.
//!
//! The server certificate changes without a restart ([`tls::ServerIdentity`]):
//! SIGHUP re-reads it from the data directory, `POST
//! /v1/server/certificate/rotate` reissues it from the server CA, and a daily
//! check reissues one of the server CA's in its last 30 days. The server
//! identity is kept in the store too, so every node of a cluster serves the
//! same: each change is stored, and every node polls the stored version every
//! [`IDENTITY_POLL`] and serves a newer one.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
pub mod backoff;
pub mod cache;
pub mod config;
pub mod init;
pub mod kmip_listener;
pub mod metrics;
pub mod rest;
pub mod syslog;
pub mod tls;

use config::Config;
use kmip_listener::{KmipListener, Shared};
use skms_core::keys::RootOfTrust;
use skms_core::store::Store;
use skms_core::tenancy::Keyring;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is wrong.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The data directory could not be opened or initialized.
    #[error(transparent)]
    Init(#[from] init::InitError),
    /// The TLS configuration was refused.
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// OpenSSL refused the legacy-suite KMIP TLS configuration.
    #[error("TLS (OpenSSL): {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
    /// The server certificate was refused.
    #[error(transparent)]
    Certificate(#[from] tls::CertError),
    /// The KMIP address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
}

/// A started server: where it listens, what it created, and how to stop it.
pub struct Running {
    /// The address the KMIP listener is bound to (the real port when 0 was asked).
    pub kmip_addr: SocketAddr,
    /// The address the REST API (HTTPS) is bound to.
    pub https_addr: SocketAddr,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The CA certificate to give to vCenter.
    pub ca_cert_path: PathBuf,
    /// What this start created, one line each.
    pub created: Vec<String>,
    /// The store as the listeners see it, through the node's cache (for admin work in-process and tests).
    pub store: Arc<dyn Store>,
    /// The root of trust.
    pub root: Arc<dyn RootOfTrust>,
    /// The metrics `/metrics` renders ([`metrics::render`]).
    pub metrics: Arc<metrics::Metrics>,
    /// What the listeners share (store as they see it, keyring, metrics): for [`metrics::readiness`].
    pub shared: Arc<Shared>,
    /// The server certificate KMIP and HTTPS present, to reload or rotate.
    pub identity: Arc<tls::ServerIdentity>,
    shutdown: broadcast::Sender<()>,
    task: JoinHandle<()>,
}

impl Running {
    /// Stops accepting, lets open connections finish their current request, and waits.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        self.wait().await;
    }

    /// Waits until the listeners end (after [`Running::shutdown_handle`] fires),
    /// then until every audit record they queued is committed.
    pub async fn wait(self) {
        let _ = self.task.await;
        let audit = self.shared.audit.clone();
        let _ = tokio::task::spawn_blocking(move || audit.flush()).await;
    }

    /// A sender that stops the server when sent to.
    pub fn shutdown_handle(&self) -> broadcast::Sender<()> {
        self.shutdown.clone()
    }
}

/// Opens the data directory (creating it on first start), binds the KMIP
/// address and starts serving in the background.
pub async fn start(config: &Config) -> Result<Running, ServerError> {
    let cfg = config.clone();
    let data = tokio::task::spawn_blocking(move || init::open(&cfg))
        .await
        .map_err(|e| init::InitError::Cert(format!("initialization panicked: {e}")))??;
    // One server certificate for KMIP and HTTPS, swappable while serving.
    let identity = tls::ServerIdentity::new(&data)?;
    // KMIP over TLS: rustls, or OpenSSL when the KMIP profile's TLS_RSA suites are wanted.
    let kmip_acceptor = match identity.openssl() {
        Some(live) => kmip_listener::Acceptor::OpenSsl(live),
        None => kmip_listener::Acceptor::Rustls(tokio_rustls::TlsAcceptor::from(
            tls::server_config(identity.clone())?,
        )),
    };
    let kmip_tls = kmip_acceptor.describe();
    let listener = bind(config.kmip_addr).map_err(|e| ServerError::Bind {
        addr: config.kmip_addr,
        reason: e.to_string(),
    })?;
    let kmip_addr = listener.local_addr().map_err(|e| ServerError::Bind {
        addr: config.kmip_addr,
        reason: e.to_string(),
    })?;
    let root: Arc<dyn RootOfTrust> = data.root.clone();
    // Every user of the store (KMIP, REST) goes through the node's cache
    // (which follows the store's change feed), and what reaches the database
    // through the timing wrapper.
    let metrics = Arc::new(metrics::Metrics::new());
    let cache = Arc::new(cache::CachedStore::new(
        Arc::new(metrics::MeteredStore::new(
            data.store.clone(),
            metrics.clone(),
        )),
        config.cache_objects,
        metrics.clone(),
    ));
    cache::CachedStore::follow(&cache)
        .map_err(|e| init::InitError::Cert(format!("cannot follow the change feed: {e}")))?;
    let store: Arc<dyn Store> = cache;
    let mut sinks: Vec<Box<dyn skms_core::audit::AuditSink>> = Vec::new();
    if let Some(target) = &config.audit_syslog {
        let target: syslog::Target =
            target
                .parse()
                .map_err(|reason| config::ConfigError::Invalid {
                    name: "audit_syslog",
                    reason,
                })?;
        info!(%target, "forwarding audit records to syslog");
        sinks.push(Box::new(syslog::SyslogSink::start(target).map_err(
            |e| init::InitError::Cert(format!("cannot start syslog forwarding: {e}")),
        )?));
    }
    let audit = Arc::new(
        skms_core::audit::AuditLog::start(store.clone(), sinks, 65_536)
            .map_err(|e| init::InitError::Cert(format!("cannot start the audit log: {e}")))?,
    );
    let shared = Arc::new(
        Shared::new(config, store, Arc::new(Keyring::new(root.clone())))
            .map_err(|e| init::InitError::Cert(format!("cannot set up authentication: {e}")))?
            .with_metrics(metrics.clone())
            .with_audit(audit)
            .with_server_identity(identity.clone())
            .with_store_backend(init::StoreBackend::of(config.storage_url.as_deref()))
            .with_memory_first(),
    );
    // The readiness gauges hold a first check before anything is served, then
    // follow the store and the root of trust in the background.
    let first = metrics::readiness(&shared).await;
    if let Err(problem) = first.result() {
        warn!(%problem, "not ready: /v1/ready answers 503 until this is repaired");
    }
    // The REST API: bound before anything is served, so a taken port fails the start.
    let https_listener = bind(config.https_addr).map_err(|e| ServerError::Bind {
        addr: config.https_addr,
        reason: e.to_string(),
    })?;
    let https_addr = https_listener.local_addr().map_err(|e| ServerError::Bind {
        addr: config.https_addr,
        reason: e.to_string(),
    })?;
    let mut created = data.created.clone();
    let sysadmin = {
        let store = data.store.clone();
        tokio::task::spawn_blocking(move || {
            skms_core::tenancy::ensure_sysadmin(&*store, rest::now())
        })
        .await
        .map_err(|e| init::InitError::Cert(format!("initialization panicked: {e}")))?
        .map_err(|e| init::InitError::Cert(format!("cannot create the sysadmin: {e}")))?
    };
    if let Some((user, password)) = sysadmin {
        created.push(format!(
            "created sysadmin login {:?} with password {} (shown once: keep it; `skms sysadmin reset-password` makes a new one)",
            user.name,
            password.expose()
        ));
    }
    let rest_state = Arc::new(rest::RestState {
        shared: shared.clone(),
        ca_pem: std::fs::read_to_string(&data.ca_cert_path)
            .map_err(|e| init::InitError::Cert(format!("cannot read the CA certificate: {e}")))?,
    });
    let (shutdown, _) = broadcast::channel(1);
    let https_task = tokio::spawn(rest::serve(
        https_listener,
        tokio_rustls::TlsAcceptor::from(tls::https_config(identity.clone())?),
        rest::router(rest_state),
        config.max_connections,
        config.handshake_timeout,
        shutdown.subscribe(),
    ));
    info!(addr = %https_addr, "REST API (HTTPS) started");
    let kmip = KmipListener::new(
        listener,
        kmip_acceptor,
        shared.clone(),
        config.max_connections,
    );
    let kmip_task = tokio::spawn(kmip.run(shutdown.subscribe()));
    reload_on_hangup(identity.clone(), shutdown.subscribe());
    tokio::spawn(renew_daily(identity.clone(), shutdown.subscribe()));
    tokio::spawn(follow_stored_identity(
        identity.clone(),
        shutdown.subscribe(),
    ));
    tokio::spawn(metrics::keep_probing(
        shared.clone(),
        first.is_ready(),
        shutdown.subscribe(),
    ));
    let task = tokio::spawn(async move {
        let _ = kmip_task.await;
        let _ = https_task.await;
    });
    info!(addr = %kmip_addr, data_dir = %data.path.display(), tls = %kmip_tls, "KMIP listener started");
    Ok(Running {
        kmip_addr,
        https_addr,
        data_dir: data.path,
        ca_cert_path: data.ca_cert_path,
        created,
        store: shared.store.clone(),
        root,
        metrics,
        shared,
        identity,
        shutdown,
        task,
    })
}

/// How often the server checks whether its certificate needs renewing.
const RENEWAL_CHECK: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Re-reads the server certificate from the data directory on each SIGHUP
/// until `stop` ([`tls::ServerIdentity::reload`]); a refused one is logged
/// and the previous one kept. The handler is installed before this returns,
/// so a SIGHUP once the server says it listens never kills it.
fn reload_on_hangup(identity: Arc<tls::ServerIdentity>, mut stop: broadcast::Receiver<()>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "cannot handle SIGHUP: the server certificate reloads only by restart or the REST API");
                return;
            }
        };
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.recv() => break,
                    got = hangups.recv() => if got.is_none() { break },
                }
                info!("SIGHUP: reloading the server certificate");
                let id = identity.clone();
                match tokio::task::spawn_blocking(move || id.reload()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => error!(
                        error = %e,
                        still_served = %identity.served().primary.sha256,
                        "SIGHUP: the server certificate was NOT reloaded; the previous one is still served"
                    ),
                    Err(e) => error!(error = %e, "SIGHUP: reloading the server certificate failed"),
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (identity, stop);
}

/// Once a day until `stop`: reissues a server certificate of the server CA
/// that is in its last 30 days ([`tls::ServerIdentity::renew_if_due`]).
async fn renew_daily(identity: Arc<tls::ServerIdentity>, mut stop: broadcast::Receiver<()>) {
    // At start `init::open` has just renewed what was due.
    let start = tokio::time::Instant::now() + RENEWAL_CHECK;
    let mut ticks = tokio::time::interval_at(start, RENEWAL_CHECK);
    loop {
        tokio::select! {
            _ = stop.recv() => break,
            _ = ticks.tick() => {}
        }
        let id = identity.clone();
        match tokio::task::spawn_blocking(move || id.renew_if_due()).await {
            Ok(Ok(Some((why, _)))) => info!(%why, "server certificate renewed"),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                error!(error = %e, "renewing the server certificate failed; the current one is still served")
            }
            Err(e) => error!(error = %e, "renewing the server certificate failed"),
        }
    }
}

/// How often a node reads the version of the server identity in the store:
/// a change another node stored (a rotation, a renewal, an operator's
/// certificate) is served here within this time (plus one read and one swap).
pub const IDENTITY_POLL: std::time::Duration = std::time::Duration::from_secs(10);

/// Every [`IDENTITY_POLL`] until `stop`: serves a newer server identity that
/// another node stored ([`tls::ServerIdentity::sync`]).
async fn follow_stored_identity(
    identity: Arc<tls::ServerIdentity>,
    mut stop: broadcast::Receiver<()>,
) {
    let start = tokio::time::Instant::now() + IDENTITY_POLL;
    let mut ticks = tokio::time::interval_at(start, IDENTITY_POLL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.recv() => break,
            _ = ticks.tick() => {}
        }
        let id = identity.clone();
        match tokio::task::spawn_blocking(move || id.sync()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => warn!(
                error = %e,
                still_served = %identity.served().primary.sha256,
                "cannot take the server identity stored by another node; the current one is still served"
            ),
            Err(e) => warn!(error = %e, "checking the stored server identity failed"),
        }
    }
}

/// Resolves once `stopping` says the server is stopping (at once if it already
/// did). Each listener turns its shutdown broadcast into such a watch for its
/// connections, so a connection that starts during the stop still sees it.
pub(crate) async fn stopped(stopping: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stopping.wait_for(|s| *s).await;
}

/// Connections the kernel completes and queues before we accept them. A
/// boot storm (every vSAN host of a cluster connecting at once after a
/// power event) overflows tokio's default of 1024, and the kernel then drops
/// handshakes that clients retry only a second later; the kernel caps this
/// at net.core.somaxconn.
const LISTEN_BACKLOG: u32 = 8192;

/// A listening socket on `addr` with a backlog of [`LISTEN_BACKLOG`].
fn bind(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As tokio's own bind: a restarted server takes its port back at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Resolves on SIGINT or SIGTERM (Ctrl-C elsewhere). The handlers are installed
/// when this is called, not when the future is first polled, so a signal that
/// comes right after (say, once "listening" is printed) is never the default
/// action that kills the process. Call it inside the runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let streams = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        );
        async move {
            match streams {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {},
                        _ = term.recv() => {},
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Logs to stderr; the filter is `SKMS_LOG` or `RUST_LOG` (default `info`).
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("SKMS_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
