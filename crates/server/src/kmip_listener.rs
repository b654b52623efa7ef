//! The KMIP over TLS listener, shaped like tokio's mini-redis: one accept loop
//! bounded by a semaphore, one task per connection, shutdown by broadcast.
//!
//! Per connection: TLS handshake by rustls, or by OpenSSL when the legacy KMIP
//! cipher suites are on ([`Acceptor`]; time-limited; failures are debug noise,
//! as vCenter probes and retries a lot), the client certificate's identity, then
//! request after request: one bounded TTLV frame, decode, authenticate, run the
//! operations off the async threads, write the response.

use crate::audit;
use crate::backoff::Backoff;
use crate::config::Config;
use crate::metrics::{self, Metrics};
use crate::tls;
use kmip::binary::{self, Limits};
use kmip::messages::{Credential, RequestMessage, ResponseMessage};
use kmip::{Tag, Ttlv, Value};
use openssl::ssl::{Ssl, SslContext};
use rustls_pki_types::{CertificateDer, UnixTime};
use skms_core::audit::AuditLog;
use skms_core::model::Timestamp;
use skms_core::ops::{self, Caller, Context, ServerInfo};
use skms_core::store::Store;
use skms_core::store::StoreError;
use skms_core::tenancy::{self, Keyring};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, watch, Semaphore};
use tokio_openssl::SslStream;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, error, info, warn};

/// Audit events waiting to be stored, at most (then recording waits).
const AUDIT_QUEUE: usize = 65_536;

/// What every connection shares.
pub struct Shared {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Account keys.
    pub keyring: Arc<Keyring>,
    /// What Discover Versions and Query report.
    pub server_info: ServerInfo,
    /// Bounds of one message.
    pub limits: Limits,
    /// Silence allowed between requests.
    pub idle_timeout: Duration,
    /// Time allowed for the TLS handshake.
    pub handshake_timeout: Duration,
    /// Whether client certificates need the clientAuth EKU.
    pub require_client_auth_eku: bool,
    /// Slows down sources that keep failing authentication.
    pub backoff: Backoff,
    /// Secrets verified recently (argon2id once per minute per app and secret, not per request).
    pub verified: tenancy::VerifiedSecrets,
    /// Client certificate chains verified against their app's trusted CAs.
    pub verified_chains: tls::VerifiedChains,
    /// What KMIP, REST, TLS and the store did, for `/metrics` ([`crate::metrics`]).
    pub metrics: Arc<Metrics>,
    /// Where every authentication and operation is recorded.
    pub audit: Arc<AuditLog>,
    /// The server's own certificate, to show, reload or rotate while serving
    /// (none for a listener set up without one, as in some tests).
    pub server_identity: Option<Arc<tls::ServerIdentity>>,
    /// Which database the store is in, when known (`/v1/ready` shows it).
    pub store_backend: Option<crate::init::StoreBackend>,
    /// The store answers from memory what it can, and refuses the rest
    /// inside [`skms_core::store::memory_only`] (a [`crate::cache::CachedStore`]):
    /// reads are tried on the async thread first ([`reads_first_from_memory`]).
    pub memory_first: bool,
}

impl Shared {
    /// The shared state for `config`.
    pub fn new(
        config: &Config,
        store: Arc<dyn Store>,
        keyring: Arc<Keyring>,
    ) -> Result<Self, tenancy::TenancyError> {
        Ok(Shared {
            keyring,
            server_info: ServerInfo::default(),
            limits: Limits {
                max_message_size: config.max_message_size,
                ..Limits::default()
            },
            idle_timeout: config.idle_timeout,
            handshake_timeout: config.handshake_timeout,
            require_client_auth_eku: config.require_client_auth_eku,
            backoff: Backoff::default(),
            verified: tenancy::VerifiedSecrets::new(Duration::from_secs(60), 100_000)?,
            verified_chains: tls::VerifiedChains::new(10_000),
            metrics: Arc::new(Metrics::new()),
            audit: Arc::new(
                AuditLog::start(store.clone(), Vec::new(), AUDIT_QUEUE).map_err(|e| {
                    StoreError::Backend(format!("cannot start the audit thread: {e}"))
                })?,
            ),
            store,
            server_identity: None,
            store_backend: None,
            memory_first: false,
        })
    }

    /// The same over a store that answers from memory first (a [`crate::cache::CachedStore`]).
    pub fn with_memory_first(self) -> Self {
        Shared {
            memory_first: true,
            ..self
        }
    }

    /// The same, recording into `audit` (one with forwarders, say).
    pub fn with_audit(self, audit: Arc<AuditLog>) -> Self {
        Shared { audit, ..self }
    }

    /// The same, counting into `metrics` (the registry the store was wrapped with).
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Self {
        Shared { metrics, ..self }
    }

    /// The same, saying that the store is in `backend`.
    pub fn with_store_backend(self, backend: crate::init::StoreBackend) -> Self {
        Shared {
            store_backend: Some(backend),
            ..self
        }
    }

    /// The same, serving the certificate of `identity` (which the REST API shows and rotates).
    pub fn with_server_identity(self, identity: Arc<tls::ServerIdentity>) -> Self {
        Shared {
            server_identity: Some(identity),
            ..self
        }
    }
}

/// The TLS stack that serves KMIP connections.
#[derive(Clone)]
pub enum Acceptor {
    /// rustls, the default: TLS 1.3 and 1.2, ECDHE key exchange and AEAD only.
    Rustls(TlsAcceptor),
    /// OpenSSL, with `kmip_legacy_cipher_suites`: the same plus the KMIP
    /// profile suites TLS_RSA_WITH_AES_128/256_CBC_SHA256 ([`tls::openssl_context`]);
    /// each connection takes the context in force when it is accepted
    /// ([`tls::ServerIdentity`] swaps it when the server certificate changes).
    OpenSsl(Arc<tls::Swap<SslContext>>),
}

impl Acceptor {
    /// Which TLS stack this is, for the start-up log.
    pub fn describe(&self) -> String {
        match self {
            Acceptor::Rustls(_) => "rustls (TLS 1.3 and 1.2, ECDHE with AEAD)".into(),
            Acceptor::OpenSsl(_) => format!(
                "{} (TLS 1.3 and 1.2, ECDHE with AEAD, and the KMIP legacy suites \
                 AES128-SHA256 and AES256-SHA256)",
                openssl::version::version()
            ),
        }
    }
}

impl From<TlsAcceptor> for Acceptor {
    fn from(a: TlsAcceptor) -> Self {
        Acceptor::Rustls(a)
    }
}

/// The accept loop of a bound listener.
pub struct KmipListener {
    listener: TcpListener,
    acceptor: Acceptor,
    shared: Arc<Shared>,
    limit: Arc<Semaphore>,
}

impl KmipListener {
    /// A listener over a bound socket.
    pub fn new(
        listener: TcpListener,
        acceptor: impl Into<Acceptor>,
        shared: Arc<Shared>,
        max_connections: usize,
    ) -> Self {
        KmipListener {
            listener,
            acceptor: acceptor.into(),
            shared,
            limit: Arc::new(Semaphore::new(max_connections)),
        }
    }

    /// Accepts connections until `stop` fires (subscribed by the caller before
    /// spawning, so an early stop is not missed), then waits for the open
    /// connections to finish their current request and close.
    pub async fn run(self, mut stop: broadcast::Receiver<()>) {
        // Connections watch this: unlike a broadcast, a watch shows a late
        // subscriber that the stop already happened.
        let (stopping, _) = watch::channel(false);
        // Each connection holds a sender; when all are dropped, they are done.
        let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
        loop {
            let permit = tokio::select! {
                _ = stop.recv() => break,
                p = self.limit.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let accepted = tokio::select! {
                _ = stop.recv() => break,
                a = self.listener.accept() => a,
            };
            let (tcp, peer) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    error!(error = %e, "KMIP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let open = self.shared.metrics.kmip_connection_opened();
            let acceptor = self.acceptor.clone();
            let shared = self.shared.clone();
            let stop = stopping.subscribe();
            let done = done_tx.clone();
            tokio::spawn(async move {
                serve_connection(tcp, peer, acceptor, shared, stop).await;
                drop(open);
                drop(permit);
                drop(done);
            });
        }
        let _ = stopping.send(true);
        drop(done_tx);
        let _ = done_rx.recv().await;
        info!("KMIP listener stopped");
    }
}

/// One connection, from handshake to close: the handshake of its TLS stack,
/// then the one per-connection loop ([`serve_tls`]) whatever the stack.
async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    acceptor: Acceptor,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
    let limit = shared.handshake_timeout;
    match acceptor {
        Acceptor::Rustls(a) => {
            if let Some(tls) = handshake(peer, limit, a.accept(tcp)).await {
                let chain = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                    .unwrap_or_default();
                serve_tls(tls, chain, peer, shared, stop).await;
            } else {
                shared.metrics.tls_handshake_failed(metrics::Listener::Kmip);
            }
        }
        Acceptor::OpenSsl(live) => {
            let ctx = live.get();
            if let Some(tls) = handshake(peer, limit, openssl_accept(&ctx, tcp)).await {
                let chain = tls::openssl_peer_chain(tls.ssl());
                serve_tls(tls, chain, peer, shared, stop).await;
            } else {
                shared.metrics.tls_handshake_failed(metrics::Listener::Kmip);
            }
        }
    }
}

/// Runs a TLS handshake within `limit`; failures are debug noise.
async fn handshake<S, E: std::fmt::Display>(
    peer: SocketAddr,
    limit: Duration,
    accept: impl std::future::Future<Output = Result<S, E>>,
) -> Option<S> {
    match tokio::time::timeout(limit, accept).await {
        Ok(Ok(s)) => Some(s),
        Ok(Err(e)) => {
            debug!(%peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            debug!(%peer, "TLS handshake timed out");
            None
        }
    }
}

/// The server side of an OpenSSL handshake on `tcp`.
async fn openssl_accept(
    ctx: &SslContext,
    tcp: TcpStream,
) -> Result<SslStream<TcpStream>, Box<dyn std::error::Error + Send + Sync>> {
    let mut s = SslStream::new(Ssl::new(ctx)?, tcp)?;
    std::pin::Pin::new(&mut s).accept().await?;
    Ok(s)
}

/// The caller a client certificate chain identifies, if any (logged at debug level).
async fn identify_peer(
    shared: &Arc<Shared>,
    peer: SocketAddr,
    chain: Vec<CertificateDer<'static>>,
) -> Option<Caller> {
    if chain.is_empty() {
        debug!(%peer, "TLS connection without a client certificate");
        return None;
    }
    let leaf = chain[0].clone();
    let identify = move |s: &Shared, chain: &[CertificateDer<'static>]| {
        tls::identify(
            &*s.store,
            &s.verified_chains,
            chain,
            s.require_client_auth_eku,
            UnixTime::now(),
        )
    };
    // A known app and chain are in the node's cache: no hop to a blocking thread.
    let tried = shared
        .memory_first
        .then(|| skms_core::store::memory_only(|| identify(shared, &chain)))
        .flatten();
    let found = match tried {
        Some(found) => Ok(found),
        None => {
            let s = shared.clone();
            tokio::task::spawn_blocking(move || identify(&s, &chain)).await
        }
    };
    match found {
        Ok(Ok((c, how))) => {
            debug!(%peer, app = %c.audit_actor().1, ?how, "client certificate identifies an app");
            let e = audit::authentication(
                &*shared.store,
                "kmip.certificate",
                peer.ip(),
                "",
                Some(&c),
                None,
            );
            shared.audit.record(e);
            Some(c)
        }
        Ok(Err(why)) => {
            debug!(%peer, reason = %why, "client certificate identifies no app");
            let tried = match &why {
                tls::CertRejected::Disabled(id) | tls::CertRejected::Untrusted(id, _) => {
                    id.to_string()
                }
                _ => format!("sha256:{}", hex::encode(tls::fingerprint(&leaf))),
            };
            let e = audit::authentication(
                &*shared.store,
                "kmip.certificate",
                peer.ip(),
                &tried,
                None,
                Some(why.to_string()),
            );
            shared.audit.record(e);
            shared
                .metrics
                .authentication_failed(metrics::Interface::Kmip, metrics::AuthMethod::Certificate);
            None
        }
        Err(e) => {
            error!(%peer, error = %e, "certificate lookup panicked");
            None
        }
    }
}

/// An established TLS connection, whichever the stack: the client's identity,
/// then request after request until close, idle timeout or shutdown.
async fn serve_tls<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    chain: Vec<CertificateDer<'static>>,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let caller = identify_peer(&shared, peer, chain).await;
    let mut conn = Connection {
        stream,
        peer,
        shared,
        cert_caller: caller.clone(),
        caller,
    };
    loop {
        let frame = tokio::select! {
            _ = crate::stopped(&mut stop) => break,
            f = tokio::time::timeout(conn.shared.idle_timeout, conn.read_frame()) => f,
        };
        let frame = match frame {
            Err(_) => {
                debug!(%peer, "idle timeout");
                break;
            }
            Ok(Ok(Frame::Closed)) => break,
            Ok(Ok(Frame::Request(bytes))) => bytes,
            Ok(Ok(Frame::Refused(message))) => {
                debug!(%peer, %message, "refused a message; closing");
                let response = conn.invalid((1, 0), message);
                conn.shared.metrics.count_kmip(&response);
                let _ = conn.respond(response).await;
                break;
            }
            Ok(Err(e)) => {
                debug!(%peer, error = %e, "connection read failed");
                break;
            }
        };
        let started = std::time::Instant::now();
        let response = conn.handle(frame).await;
        conn.shared
            .metrics
            .observe_kmip(&response, started.elapsed());
        if let Err(e) = conn.respond(response).await {
            debug!(%peer, error = %e, "write failed");
            break;
        }
    }
    // A client that stopped reading cannot hold the connection open.
    let _ = tokio::time::timeout(conn.shared.idle_timeout, conn.stream.shutdown()).await;
}

/// What one read gives.
enum Frame {
    /// A complete request message of an acceptable size (wiped when dropped: a
    /// Register carries key material).
    Request(zeroize::Zeroizing<Vec<u8>>),
    /// A frame that cannot be served; the connection must close after the error response.
    Refused(String),
    /// The peer closed between messages.
    Closed,
}

struct Connection<S> {
    stream: S,
    peer: SocketAddr,
    shared: Arc<Shared>,
    /// Who this connection's requests are served as when they carry no credential.
    caller: Option<Caller>,
    /// Who the client certificate proved, if anyone: what remains after a failed credential.
    cert_caller: Option<Caller>,
}

/// The first 4 bytes of every request: tag Request Message (0x420078), type Structure.
const REQUEST_HEAD: [u8; 4] = [0x42, 0x00, 0x78, 0x01];

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// Reads exactly one TTLV frame, checking its size before reading its body.
    async fn read_frame(&mut self) -> std::io::Result<Frame> {
        let mut header = [0u8; 8];
        let mut got = 0;
        while got < header.len() {
            let n = self.stream.read(&mut header[got..]).await?;
            if n == 0 {
                if got == 0 {
                    return Ok(Frame::Closed);
                }
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            got += n;
        }
        if header[..4] != REQUEST_HEAD {
            return Ok(Frame::Refused(format!(
                "not a KMIP request message: starts with {}",
                hex::encode(&header[..4])
            )));
        }
        let len = binary::frame_len(&header).unwrap_or(usize::MAX);
        let limit = self.shared.limits.max_message_size;
        if len > limit {
            return Ok(Frame::Refused(format!(
                "message of {len} bytes exceeds the limit of {limit} bytes"
            )));
        }
        let mut buf = zeroize::Zeroizing::new(vec![0u8; len]);
        buf[..8].copy_from_slice(&header);
        self.stream.read_exact(&mut buf[8..]).await?;
        Ok(Frame::Request(buf))
    }

    /// Writes a response; a client that does not read it within the idle
    /// timeout loses the connection (it cannot hold a connection slot for ever).
    async fn respond(&mut self, response: ResponseMessage) -> std::io::Result<()> {
        // A response may carry key material (Get): wipe the buffer once written.
        let bytes = zeroize::Zeroizing::new(response.encode());
        let write = async {
            self.stream.write_all(&bytes).await?;
            self.stream.flush().await
        };
        tokio::time::timeout(self.shared.idle_timeout, write)
            .await
            .unwrap_or_else(|_| {
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the client did not read its response",
                ))
            })
    }

    fn invalid(&self, version: (i32, i32), message: String) -> ResponseMessage {
        let ctx = Context {
            store: &*self.shared.store,
            keyring: &self.shared.keyring,
            now: now(),
            server: &self.shared.server_info,
        };
        ops::invalid_message(&ctx, version, message)
    }

    /// Decodes, authenticates and serves one request message.
    async fn handle(&mut self, bytes: zeroize::Zeroizing<Vec<u8>>) -> ResponseMessage {
        let tree = match binary::decode(&bytes, &self.shared.limits) {
            Ok(t) => t,
            Err(e) => {
                debug!(peer = %self.peer, error = %e, "undecodable message");
                return self.invalid((1, 0), format!("malformed TTLV: {e}"));
            }
        };
        let version = request_version(&tree).unwrap_or((1, 0));
        let mut request = match RequestMessage::from_ttlv(tree) {
            Ok(r) => r,
            Err(e) => {
                debug!(peer = %self.peer, error = %e, "not a valid request message");
                return self.invalid(version, format!("invalid request message: {e}"));
            }
        };
        let caller = match take_password(&mut request) {
            None => self.caller.clone(),
            Some((username, password)) => {
                match self.authenticate(username.clone(), password).await {
                    Err(()) => return ops::unavailable(now(), &request),
                    Ok(Some(c)) => {
                        // Recorded when it changes who this connection acts as,
                        // not on every request that repeats the credential.
                        if self.caller.as_ref().map(|p| p.audit_actor()) != Some(c.audit_actor()) {
                            let e = audit::authentication(
                                &*self.shared.store,
                                "kmip.password",
                                self.peer.ip(),
                                &username,
                                Some(&c),
                                None,
                            );
                            self.shared.audit.record(e);
                        }
                        self.caller = Some(c.clone());
                        Some(c)
                    }
                    Ok(None) => {
                        // A failed credential also ends what an earlier credential
                        // established on this connection; a certificate identity stays.
                        warn!(peer = %self.peer, %username, "KMIP authentication failed");
                        let shared = self.shared.clone();
                        let ip = self.peer.ip();
                        let _ = tokio::task::spawn_blocking(move || {
                            let e = audit::authentication(
                                &*shared.store,
                                "kmip.password",
                                ip,
                                &username,
                                None,
                                None,
                            );
                            shared.audit.record(e);
                        })
                        .await;
                        self.caller = self.cert_caller.clone();
                        None
                    }
                }
            }
        };
        let source = self.peer.ip();
        if self.shared.memory_first && reads_first_from_memory(&request) {
            let shared = &*self.shared;
            let tried = skms_core::store::memory_only(|| {
                serve(shared, caller.as_ref(), request.clone(), source)
            });
            if let Some((response, events, false)) = tried {
                record(shared, events, false, source);
                return response;
            }
        }
        let shared = self.shared.clone();
        let served = tokio::task::spawn_blocking(move || {
            let (response, events, changes) = serve(&shared, caller.as_ref(), request, source);
            record(&shared, events, changes, source);
            response
        })
        .await;
        match served {
            Ok(r) => r,
            Err(e) => {
                error!(peer = %self.peer, error = %e, "an operation panicked");
                self.invalid(version, "the server failed to process the request".into())
            }
        }
    }

    /// The caller a username (app id) and password (its secret) prove, after
    /// the back-off this source has earned by failing before.
    /// The app a Username and Password credential names, `None` for a wrong
    /// one, or `Err` when the store does not answer (not the client's fault:
    /// no back-off, no failed-authentication count).
    async fn authenticate(
        &self,
        username: String,
        password: kmip::messages::SecretString,
    ) -> Result<Option<Caller>, ()> {
        let ip: IpAddr = self.peer.ip();
        let wait = self.shared.backoff.delay(ip);
        if !wait.is_zero() {
            debug!(peer = %self.peer, ?wait, "slowing a source that failed authentication");
            tokio::time::sleep(wait).await;
        }
        let shared = self.shared.clone();
        let result = tokio::task::spawn_blocking(move || {
            let Some(app) = shared
                .verified
                .authenticate(&*shared.store, &username, &password.0)
                .map_err(|_| ())?
            else {
                return Ok(None);
            };
            match tls::caller_for(&*shared.store, app) {
                Ok(c) => Ok(Some(c)),
                Err(tls::CertRejected::Store(_)) => Err(()),
                Err(_) => Ok(None),
            }
        })
        .await
        .map_err(|_| ())
        .and_then(|r| r);
        match &result {
            Ok(Some(_)) => self.shared.backoff.success(ip),
            Ok(None) => {
                self.shared.backoff.failure(ip);
                self.shared
                    .metrics
                    .authentication_failed(metrics::Interface::Kmip, metrics::AuthMethod::Password);
            }
            Err(()) => warn!(peer = %self.peer, "the store did not answer while authenticating"),
        }
        result
    }
}

/// Serves `request` as `caller`: the response, its audit events, and
/// whether it changed anything (its events must then be committed before
/// it is answered).
fn serve(
    shared: &Shared,
    caller: Option<&Caller>,
    request: RequestMessage,
    source: IpAddr,
) -> (ResponseMessage, Vec<skms_core::audit::AuditEvent>, bool) {
    let ctx = Context {
        store: &*shared.store,
        keyring: &shared.keyring,
        now: now(),
        server: &shared.server_info,
    };
    let plan = audit::KmipPlan::of(&request);
    let response = ops::handle_message(&ctx, caller, request);
    let (events, changes) = plan.events(caller, source, "kmip", &response);
    (response, events, changes)
}

/// Records the events of a served request; a change's, durably (a change is
/// answered only once its record is committed).
fn record(
    shared: &Shared,
    events: Vec<skms_core::audit::AuditEvent>,
    changes: bool,
    source: IpAddr,
) {
    if let Err(e) = audit::record(&shared.audit, events, changes) {
        error!(peer = %source, error = %e, "an operation's audit record was not stored");
    }
}

/// Whether every item of `request` only reads what a node keeps in memory
/// (keys and their attributes, the server's own information), so that it is
/// worth trying on the async thread before handing it to a blocking one:
/// a warm Get then costs no thread switch. Locate asks the database anyway.
fn reads_first_from_memory(request: &RequestMessage) -> bool {
    use kmip::enums::Operation;
    request.batch_items.iter().all(|i| {
        matches!(
            i.operation,
            Operation::GET
                | Operation::GET_ATTRIBUTES
                | Operation::GET_ATTRIBUTE_LIST
                | Operation::DISCOVER_VERSIONS
                | Operation::QUERY
        )
    })
}

/// Removes the Username and Password credential from the header, if any
/// (so the password does not travel further than needed).
fn take_password(request: &mut RequestMessage) -> Option<(String, kmip::messages::SecretString)> {
    let auth = request.header.authentication.as_mut()?;
    let i = auth
        .credential
        .iter()
        .position(|c| matches!(c, Credential::UsernameAndPassword(_)))?;
    match auth.credential.remove(i) {
        Credential::UsernameAndPassword(mut c) => {
            let password = c.password.take().unwrap_or_default();
            Some((std::mem::take(&mut c.username), password))
        }
        _ => None,
    }
}

/// The protocol version in a request tree's header, when it is there.
fn request_version(tree: &Ttlv) -> Option<(i32, i32)> {
    fn child(t: &Ttlv, tag: Tag) -> Option<&Ttlv> {
        match &t.value {
            Value::Structure(items) => items.iter().find(|i| i.tag == tag),
            _ => None,
        }
    }
    let pv = child(child(tree, Tag::REQUEST_HEADER)?, Tag::PROTOCOL_VERSION)?;
    let num = |tag| match child(pv, tag)?.value {
        Value::Integer(n) => Some(n),
        _ => None,
    };
    Some((
        num(Tag::PROTOCOL_VERSION_MAJOR)?,
        num(Tag::PROTOCOL_VERSION_MINOR)?,
    ))
}

fn now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
